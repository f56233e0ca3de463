using ModelDsl.Core.Variants;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Training;

/// <summary>Cautious AdamW (Liang et al. 2024): the Adam direction u is kept only where it agrees
/// in sign with the gradient, mask = (u g &gt; 0), u = u mask / max(mean(mask), MaskMeanFloor)
/// with the mean taken per parameter tensor.</summary>
[Kind("cautious")]
public sealed record Cautious : OptimizerSpec
{
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.95;
    public double Eps { get; init; } = 1e-8;
    /// <summary>Lower bound of the mask mean, so that an almost empty mask cannot blow up the update.</summary>
    public double MaskMeanFloor { get; init; } = 1e-3;

    public override void Validate(Validator v, string path)
    {
        base.Validate(v, path);
        v.AdamMoments(Beta1, Beta2, Eps, path);
        v.Require(MaskMeanFloor > 0 && MaskMeanFloor <= 1, $"{path}.maskMeanFloor",
            $"{Validator.Show(MaskMeanFloor)} must lie in (0, 1]");
    }
}
