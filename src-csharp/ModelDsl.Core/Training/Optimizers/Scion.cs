using ModelDsl.Core.Variants;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Training;

/// <summary>
/// Scion (Pethick et al. 2025): hidden 2-D matrices get B = mu B + (1-mu) G orthogonalised by
/// Newton-Schulz and scaled by sqrt(max(1, out/in)); embeddings, the head, norms and biases get
/// signum, sign(B), at SignumLrRatio x Lr.
/// </summary>
[Kind("scion")]
public sealed record Scion : OptimizerSpec
{
    public Scion() => Lr = 0.02;

    public double Momentum { get; init; } = 0.9;
    public int NewtonSchulzSteps { get; init; } = 5;
    /// <summary>LR of the signum group as a fraction of Lr.</summary>
    public double SignumLrRatio { get; init; } = 0.05;

    public override void Validate(Validator v, string path)
    {
        base.Validate(v, path);
        v.Fraction(Momentum, $"{path}.momentum", allowOne: false);
        v.Require(NewtonSchulzSteps >= 1, $"{path}.newtonSchulzSteps", $"{NewtonSchulzSteps} must be at least 1");
        v.Positive(SignumLrRatio, $"{path}.signumLrRatio");
    }
}
