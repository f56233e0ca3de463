using ModelDsl.Core.Variants;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Training;

/// <summary>MARS (Yuan et al. 2024), AdamW form: c = g + gamma b1/(1-b1) (g - g_prev), c scaled
/// to norm at most 1 per parameter tensor, then Adam on c. Defaults: the best small-scale
/// configuration of Wen et al. 2025 (lr 0.016, betas 0.9/0.95, gamma 0.025).</summary>
[Kind("mars")]
public sealed record Mars : OptimizerSpec
{
    public Mars() => Lr = 0.016;

    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.95;
    public double Gamma { get; init; } = 0.025;
    public double Eps { get; init; } = 1e-8;

    public override void Validate(Validator v, string path)
    {
        base.Validate(v, path);
        v.Fraction(Beta1, $"{path}.beta1", allowOne: false);
        v.Fraction(Beta2, $"{path}.beta2", allowOne: false);
        v.NonNegative(Gamma, $"{path}.gamma");
        v.Positive(Eps, $"{path}.eps");
    }
}
