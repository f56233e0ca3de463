using ModelDsl.Runtime.Parameters;
using static TorchSharp.torch;
using ModelDsl.Runtime.Variants;

namespace ModelDsl.Runtime.Optim;

/// <summary>NAdamW (Dozat 2016): the Nesterov first moment mhat = b1 m / (1 - b1^(t+1)) + (1 - b1) g / (1 - b1^t).</summary>
[Implements(typeof(Core.Training.NAdamW))]
public sealed class NAdamWOptimizer(Core.Training.NAdamW spec, IReadOnlyList<NamedParameter> parameters, double? clipGradNorm)
    : OptimizerBase(spec.Lr, spec.WeightDecay, clipGradNorm,
        parameters.Select(p => new ParameterSlot(p, "nAdamW", 1.0, p.Role.Decayed(), clipped: true)))
{
    protected override Tensor Direction(ParameterSlot slot, Tensor gradient, long t)
    {
        var m = AdamMoments.UpdateFirst(slot, gradient, spec.Beta1);
        var v = AdamMoments.UpdateSecond(slot, gradient, spec.Beta2);
        var mHat = m * (spec.Beta1 / (1 - Math.Pow(spec.Beta1, t + 1))) + gradient * ((1 - spec.Beta1) / (1 - Math.Pow(spec.Beta1, t)));
        var vHat = v / (1 - Math.Pow(spec.Beta2, t));
        return mHat / (vHat.sqrt() + spec.Eps);
    }
}
