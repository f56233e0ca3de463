using ModelDsl.Core.Variants;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Training;

/// <summary>Lion (Chen et al. 2023): u = sign(b1 m + (1-b1) g), then m = b2 m + (1-b2) g. Its
/// sign update has unit magnitude, hence the small LR and large decay (0.7, the best small-scale
/// weight decay of Wen et al. 2025).</summary>
[Kind("lion")]
public sealed record Lion : OptimizerSpec
{
    public Lion()
    {
        Lr = 1e-4;
        WeightDecay = 0.7;
    }

    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.99;

    public override void Validate(Validator v, string path)
    {
        base.Validate(v, path);
        v.Fraction(Beta1, $"{path}.beta1", allowOne: false);
        v.Fraction(Beta2, $"{path}.beta2", allowOne: false);
    }
}
