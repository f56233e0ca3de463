using ModelDsl.Core.Variants;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Training;

/// <summary>NAdamW (Dozat 2016, decoupled decay): Adam with a Nesterov look-ahead first moment,
/// mhat = b1 m / (1 - b1^(t+1)) + (1 - b1) g / (1 - b1^t).</summary>
[Kind("nAdamW")]
public sealed record NAdamW : OptimizerSpec
{
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.98;
    public double Eps { get; init; } = 1e-8;

    public override void Validate(Validator v, string path)
    {
        base.Validate(v, path);
        v.AdamMoments(Beta1, Beta2, Eps, path);
    }
}
