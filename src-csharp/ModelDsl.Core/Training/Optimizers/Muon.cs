using ModelDsl.Core.Variants;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Training;

/// <summary>
/// Muon (Jordan et al. 2024): hidden 2-D matrices get momentum B = mu B + G (Nesterov: U = mu B + G),
/// orthogonalised by NewtonSchulzSteps quintic Newton-Schulz iterations and scaled by
/// sqrt(max(1, out/in)). Embeddings, the head, norms and biases get AdamW at AdamLrRatio x Lr.
/// Gradient clipping applies to that AdamW group only (as the reference code scopes it).
/// </summary>
[Kind("muon")]
public sealed record Muon : OptimizerSpec
{
    public Muon() => Lr = 0.02;

    public double Momentum { get; init; } = 0.95;
    public bool Nesterov { get; init; } = true;
    public int NewtonSchulzSteps { get; init; } = 5;
    /// <summary>LR of the AdamW group as a fraction of Lr (0.2-0.3 in Wen et al. 2025).</summary>
    public double AdamLrRatio { get; init; } = 0.25;
    public double AdamBeta1 { get; init; } = 0.9;
    public double AdamBeta2 { get; init; } = 0.95;
    public double AdamEps { get; init; } = 1e-8;

    public override void Validate(Validator v, string path)
    {
        base.Validate(v, path);
        v.Fraction(Momentum, $"{path}.momentum", allowOne: false);
        v.Require(NewtonSchulzSteps >= 1, $"{path}.newtonSchulzSteps", $"{NewtonSchulzSteps} must be at least 1");
        v.Positive(AdamLrRatio, $"{path}.adamLrRatio");
        v.Fraction(AdamBeta1, $"{path}.adamBeta1", allowOne: false);
        v.Fraction(AdamBeta2, $"{path}.adamBeta2", allowOne: false);
        v.Positive(AdamEps, $"{path}.adamEps");
    }
}
