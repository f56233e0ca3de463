using ModelDsl.Runtime.Parameters;
using ModelDsl.Core.Model;
using TorchSharp;
using TorchSharp.Modules;
using static ModelDsl.Runtime.Layers.HeldScalars;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Attention;

/// <summary>
/// A gate on one tensor Y of attention (Qiu et al. 2025, arXiv 2505.06708, §2):
/// Y' = Y * act(X W_theta) or Y' = Y + act(X W_theta), X the normalised block input. Headed tensors
/// are [B, heads, T, headDim]; the scores are one per element (elementwise) or one per head
/// (headwise, broadcast over the head dimension), per head or one set shared by all heads. At G5
/// the gated tensor is the output [B, T, width] and the scores are one per element. W_theta has no
/// bias, as in the paper's formula: at initialisation the scores are near 0 and a sigmoid gate near 1/2.
/// </summary>
public sealed class AttentionGate : nn.Module, IPublishesParameters
{
    private readonly Linear projection;

    /// <param name="heads">Heads of the gated tensor: query heads for G1/G4, KV heads for G2/G3; ignored at G5.</param>
    /// <param name="headDim">Head dimension of the gated tensor; ignored at G5.</param>
    public AttentionGate(GateSpec spec, int width, int heads, int headDim,
        ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(AttentionGate))
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (width < 1 || heads < 1 || headDim < 1)
            throw new ArgumentException($"gate sizes must be positive (width {width}, heads {heads}, headDim {headDim})");
        var validator = new Core.Validation.Validator();
        spec.Validate(validator, "gate");
        validator.ThrowIfAny();
        Spec = spec;
        Width = width;
        Heads = spec.Position == GatePosition.G5 ? 0 : heads;
        HeadDim = spec.Position == GatePosition.G5 ? 0 : headDim;
        ScoreHeads = spec.SharedAcrossHeads ? 1 : Heads;
        ScoresPerHead = spec.Granularity == GateGranularity.Headwise ? 1 : HeadDim;
        var outputs = spec.Position == GatePosition.G5 ? width : ScoreHeads * ScoresPerHead;
        projection = nn.Linear(width, outputs, hasBias: false, device: device, dtype: dtype);
        register_module("projection", projection);
    }

    public GateSpec Spec { get; }

    public IEnumerable<ParameterFacts> PublishedParameters => [new("projection.weight", ParameterRole.Gate)];
    public int Width { get; }
    /// <summary>Heads of the gated tensor (0 at G5, which gates [B, T, width]).</summary>
    public int Heads { get; }
    public int HeadDim { get; }
    /// <summary>Heads that have their own scores: 1 when shared, else <see cref="Heads"/>.</summary>
    public int ScoreHeads { get; }
    /// <summary>Scores per head: the head dimension (elementwise) or 1 (headwise).</summary>
    public int ScoresPerHead { get; }

    /// <summary>When set, each forward pass hands the gate values act(scores) to this callback:
    /// [B, ScoreHeads, T, ScoresPerHead] for headed positions, [B, T, width] at G5. The tensor
    /// belongs to the caller's dispose scope.</summary>
    public Action<Tensor>? GateCapture { get; set; }

    /// <summary>Gates y ([B, Heads, T, HeadDim], or [B, T, width] at G5) using x [B, T, width].</summary>
    public Tensor Forward(Tensor x, Tensor y)
    {
        var scores = projection.forward(x);
        if (Spec.Position != GatePosition.G5)
        {
            var (batch, length) = (x.shape[0], x.shape[1]);
            if (y.dim() != 4 || y.shape[1] != Heads || y.shape[2] != length || y.shape[3] != HeadDim)
                throw new ArgumentException($"a {Spec.Position} gate expects [batch, {Heads}, {length}, {HeadDim}], got [{string.Join(", ", y.shape)}]");
            scores = scores.view(batch, length, ScoreHeads, ScoresPerHead).transpose(1, 2);
        }
        var gate = Spec.Activation == GateActivation.Sigmoid ? scores.sigmoid() : nn.functional.silu(scores);
        GateCapture?.Invoke(gate);
        return Spec.Combination == GateCombination.Multiplicative ? y * gate : y.add(gate, One);
    }

    /// <summary>A short phrase for tables, e.g. "G1 elementwise sigmoid gate".</summary>
    public string Description =>
        $"{Spec.Position} {(Spec.Granularity == GateGranularity.Elementwise ? "elementwise" : "headwise")}" +
        $"{(Spec.SharedAcrossHeads ? " shared" : "")} {(Spec.Activation == GateActivation.Sigmoid ? "sigmoid" : "SiLU")}" +
        $"{(Spec.Combination == GateCombination.Additive ? " additive" : "")} gate";
}
