using ModelDsl.Runtime.Parameters;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Layers;

/// <summary>
/// SwiGLU feed-forward (Shazeer 2020, eq. 6): W_down (silu(W_gate x) ⊙ W_up x). Gate and up
/// projections are one fused matmul producing [gate | up].
/// </summary>
public sealed class SwiGluFeedForward : FeedForwardLayer
{
    private readonly Linear gateUp;
    private readonly Linear down;

    public SwiGluFeedForward(int width, int hidden, bool bias, ScalarType dtype = ScalarType.Float32, Device? device = null)
        : base(nameof(SwiGluFeedForward))
    {
        if (width < 1 || hidden < 1) throw new ArgumentException($"feed-forward sizes must be positive (width {width}, hidden {hidden})");
        Width = width;
        Hidden = hidden;
        gateUp = nn.Linear(width, 2 * hidden, hasBias: bias, device: device, dtype: dtype);
        down = nn.Linear(hidden, width, hasBias: bias, device: device, dtype: dtype);
        register_module("gateUp", gateUp);
        register_module("down", down);
    }

    public int Width { get; }
    public int Hidden { get; }

    public override Tensor forward(Tensor x)
    {
        var halves = gateUp.forward(x).chunk(2, -1);
        return down.forward(nn.functional.silu(halves[0]) * halves[1]);
    }

    public override IEnumerable<ParameterFacts> PublishedParameters =>
        [new("gateUp.weight") { RowBlocks = [Hidden, Hidden] }, new("down.weight") { ResidualOutput = true }];
    public override string Kind => $"SwiGLU feed-forward (hidden {Hidden})";
    public override string Shape => $"{Width} -> {Width}";
}
