using ModelDsl.Runtime.Parameters;
using static TorchSharp.torch;
using ModelDsl.Runtime.Variants;

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
    protected override Tensor Direction(ParameterSlot slot, Tensor gradient, long t)
    {
        var m = AdamMoments.UpdateFirst(slot, gradient, spec.Beta1);
        var v = AdamMoments.UpdateSecond(slot, gradient, spec.Beta2);
        var u = AdamMoments.Direction(m, v, spec.Beta1, spec.Beta2, spec.Eps, t);
        var mask = (u * gradient).gt(0).to(u.dtype);
        return u * mask / mask.mean().clamp_min(spec.MaskMeanFloor);
    }
}
