using ModelDsl.Runtime.Parameters;
using static TorchSharp.torch;
using ModelDsl.Runtime.Variants;
using TorchSharp;
using static ModelDsl.Runtime.Layers.HeldScalars;

namespace ModelDsl.Runtime.Optim;

/// <summary>NAdamW (Dozat 2016): the Nesterov first moment mhat = b1 m / (1 - b1^(t+1)) + (1 - b1) g / (1 - b1^t).</summary>
[Implements(typeof(Core.Training.NAdamW))]
public sealed class NAdamWOptimizer(Core.Training.NAdamW spec, IReadOnlyList<NamedParameter> parameters, double? clipGradNorm)
    : OptimizerBase(spec.Lr, spec.WeightDecay, clipGradNorm,
        parameters.Select(p => new ParameterSlot(p, "nAdamW", 1.0, p.Role.Decayed(), clipped: true)))
{
    private readonly AdamMoments adam = new(spec.Beta1, spec.Beta2, spec.Eps);
    private readonly Scalar eps = spec.Eps;

    protected override Tensor Direction(ParameterSlot slot, Tensor gradient, long t)
    {
        var m = adam.UpdateFirst(slot, gradient);
        var v = adam.UpdateSecond(slot, gradient);
        using var momentumScale = (spec.Beta1 / (1 - Math.Pow(spec.Beta1, t + 1))).ToScalar();
        using var gradientScale = ((1 - spec.Beta1) / (1 - Math.Pow(spec.Beta1, t))).ToScalar();
        using var secondCorrection = (1 - Math.Pow(spec.Beta2, t)).ToScalar();
        var mHat = m.mul(momentumScale).add(gradient.mul(gradientScale), One);
        var vHat = v.div(secondCorrection);
        return mHat / vHat.sqrt().add(eps, One);
    }
}
