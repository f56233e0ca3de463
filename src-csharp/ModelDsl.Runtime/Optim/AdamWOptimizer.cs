using ModelDsl.Runtime.Parameters;
using static TorchSharp.torch;
using ModelDsl.Runtime.Variants;

namespace ModelDsl.Runtime.Optim;

/// <summary>AdamW (Loshchilov and Hutter 2019): u = mhat / (sqrt(vhat) + eps) on every parameter; clipping over all of them.</summary>
[Implements(typeof(Core.Training.AdamW))]
public sealed class AdamWOptimizer(Core.Training.AdamW spec, IReadOnlyList<NamedParameter> parameters, double? clipGradNorm)
    : OptimizerBase(spec.Lr, spec.WeightDecay, clipGradNorm,
        parameters.Select(p => new ParameterSlot(p, "adamW", 1.0, p.Role.Decayed(), clipped: true)))
{
    protected override Tensor Direction(ParameterSlot slot, Tensor gradient, long t)
    {
        var m = AdamMoments.UpdateFirst(slot, gradient, spec.Beta1);
        var v = AdamMoments.UpdateSecond(slot, gradient, spec.Beta2);
        return AdamMoments.Direction(m, v, spec.Beta1, spec.Beta2, spec.Eps, t);
    }
}
