using ModelDsl.Core.Variants;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Training;

/// <summary>
/// Sophia-H (Liu et al. 2023): m = EMA(g, Beta1); every HessianInterval steps the diagonal Hessian
/// estimate h = Beta2 h + (1-Beta2) z * Hz with Hutchinson's z ~ N(0, I); the update is
/// clip(mhat / max(Gamma h, Eps), -1, 1). Hessian-vector products come from double backward.
/// </summary>
[Kind("sophiaH")]
public sealed record SophiaH : OptimizerSpec
{
    public SophiaH() => Lr = 6e-4;

    public double Beta1 { get; init; } = 0.965;
    public double Beta2 { get; init; } = 0.99;
    /// <summary>The clipping scale rho of the paper.</summary>
    public double Gamma { get; init; } = 0.01;
    public double Eps { get; init; } = 1e-12;
    public int HessianInterval { get; init; } = 10;

    public override void Validate(Validator v, string path)
    {
        base.Validate(v, path);
        v.Fraction(Beta1, $"{path}.beta1", allowOne: false);
        v.Fraction(Beta2, $"{path}.beta2", allowOne: false);
        v.Positive(Gamma, $"{path}.gamma");
        v.Positive(Eps, $"{path}.eps");
        v.Require(HessianInterval >= 1, $"{path}.hessianInterval", $"{HessianInterval} must be at least 1");
    }
}
