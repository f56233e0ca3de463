using ModelDsl.Core.Variants;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Training;

/// <summary>
/// PSGD Kron (Li 2018; kron_torch): momentum m = b1 m + (1-b1) g; per dimension a triangular
/// factor Q_i (diagonal when the dimension exceeds MaxTriangularDim); u = (Q^T Q) m, update RMS
/// clipped to 1.1. The preconditioner is updated with probability 1 for the first FlatStart steps,
/// then decaying exponentially (rate ProbabilityDecay) to MinUpdateProbability.
/// </summary>
[Kind("kron")]
public sealed record Kron : OptimizerSpec
{
    public Kron() => Lr = 3e-4;

    public double Beta1 { get; init; } = 0.9;
    public double PreconditionerLr { get; init; } = 0.1;
    public double PreconditionerInitScale { get; init; } = 1.0;
    public int MaxTriangularDim { get; init; } = 8192;
    public int FlatStart { get; init; } = 500;
    public double ProbabilityDecay { get; init; } = 0.001;
    public double MinUpdateProbability { get; init; } = 0.03;

    public override void Validate(Validator v, string path)
    {
        base.Validate(v, path);
        v.Fraction(Beta1, $"{path}.beta1", allowOne: false);
        v.Positive(PreconditionerLr, $"{path}.preconditionerLr");
        v.Positive(PreconditionerInitScale, $"{path}.preconditionerInitScale");
        v.Require(MaxTriangularDim >= 1, $"{path}.maxTriangularDim", $"{MaxTriangularDim} must be at least 1");
        v.Require(FlatStart >= 0, $"{path}.flatStart", $"{FlatStart} must be zero or positive");
        v.NonNegative(ProbabilityDecay, $"{path}.probabilityDecay");
        v.Require(MinUpdateProbability > 0 && MinUpdateProbability <= 1, $"{path}.minUpdateProbability",
            $"{Validator.Show(MinUpdateProbability)} must lie in (0, 1]");
    }
}
