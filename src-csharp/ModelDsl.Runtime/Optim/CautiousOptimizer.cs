using ModelDsl.Runtime.Parameters;
using static TorchSharp.torch;
using ModelDsl.Runtime.Variants;
using TorchSharp;
using static ModelDsl.Runtime.Layers.HeldScalars;

namespace ModelDsl.Runtime.Optim;

/// <summary>
/// Cautious AdamW (Liang et al. 2024): mask = (u g &gt; 0); u = u mask / max(mean(mask), floor), the
/// mean per tensor. The floor keeps a nearly empty mask from scaling the few kept entries by 1/0.
/// </summary>
[Implements(typeof(Core.Training.Cautious))]
public sealed class CautiousOptimizer(Core.Training.Cautious spec, IReadOnlyList<NamedParameter> parameters, double? clipGradNorm)
    : OptimizerBase(spec.Lr, spec.WeightDecay, clipGradNorm,
        parameters.Select(p => new ParameterSlot(p, "cautious", 1.0, p.Role.Decayed(), clipped: true)))
{
    private readonly AdamMoments adam = new(spec.Beta1, spec.Beta2, spec.Eps);
    private readonly Scalar maskMeanFloor = spec.MaskMeanFloor;

    protected override Tensor Direction(ParameterSlot slot, Tensor gradient, long t)
    {
        var m = adam.UpdateFirst(slot, gradient);
        var v = adam.UpdateSecond(slot, gradient);
        var u = adam.Direction(m, v, t);
        var mask = (u * gradient).gt(Zero).to(u.dtype);
        return u * mask / mask.mean().clamp_min(maskMeanFloor);
    }
}
