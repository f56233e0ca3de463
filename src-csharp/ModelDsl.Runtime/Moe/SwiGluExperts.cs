using ModelDsl.Runtime.Parameters;
using ModelDsl.Runtime.Kernels;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Moe;

/// <summary>
/// E SwiGLU experts stored as two 2-D stacks: gateUp [E * 2H, D] (expert e's gate rows, then its
/// up rows) and down [E * D, H]. Keeping them 2-D with row blocks lets matrix optimizers (Muon,
/// Scion) orthogonalise each expert's gate, up and down on its own, as for separate layers.
/// </summary>
public sealed class SwiGluExperts : nn.Module, IPublishesParameters
{
    private readonly Parameter gateUp;
    private readonly Parameter down;

    public SwiGluExperts(int experts, int width, int hidden, ScalarType dtype, Device? device) : base(nameof(SwiGluExperts))
    {
        if (experts < 1 || width < 1 || hidden < 1)
            throw new ArgumentException($"expert sizes must be positive (experts {experts}, width {width}, hidden {hidden})");
        Experts = experts;
        Width = width;
        Hidden = hidden;
        // nn.Linear's default range U(-1/sqrt(fan_in), 1/sqrt(fan_in)); a compiled model re-initialises
        // every parameter from its InitSpec, but a layer built on its own must not hold garbage.
        gateUp = new Parameter(empty([experts * 2L * hidden, width], dtype, device).uniform_(-1 / Math.Sqrt(width), 1 / Math.Sqrt(width)));
        down = new Parameter(empty([experts * (long)width, hidden], dtype, device).uniform_(-1 / Math.Sqrt(hidden), 1 / Math.Sqrt(hidden)));
        register_parameter("gateUp", gateUp);
        register_parameter("down", down);
    }

    public int Experts { get; }
    public int Width { get; }
    public int Hidden { get; }

    /// <summary>Views [E, 2H, D] and [E, D, H] of the stacks (no copy; gradients flow to the stacks).</summary>
    public ExpertWeights Weights => new(gateUp.view(Experts, 2L * Hidden, Width), down.view(Experts, Width, Hidden));

    /// <summary>Each expert's gate, up and down are matrices of their own; down writes into the residual stream.</summary>
    public IEnumerable<ParameterFacts> PublishedParameters =>
    [
        new("gateUp") { RowBlocks = Enumerable.Repeat((long)Hidden, 2 * Experts).ToArray() },
        new("down") { RowBlocks = Enumerable.Repeat((long)Width, Experts).ToArray(), ResidualOutput = true },
    ];
}
