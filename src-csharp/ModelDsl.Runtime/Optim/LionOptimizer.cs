using ModelDsl.Runtime.Parameters;
using static TorchSharp.torch;
using ModelDsl.Runtime.Variants;
using TorchSharp;
using static ModelDsl.Runtime.Layers.HeldScalars;

namespace ModelDsl.Runtime.Optim;

/// <summary>Lion (Chen et al. 2023): u = sign(b1 m + (1-b1) g), then m = b2 m + (1-b2) g.</summary>
[Implements(typeof(Core.Training.Lion))]
public sealed class LionOptimizer(Core.Training.Lion spec, IReadOnlyList<NamedParameter> parameters, double? clipGradNorm)
    : OptimizerBase(spec.Lr, spec.WeightDecay, clipGradNorm,
        parameters.Select(p => new ParameterSlot(p, "lion", 1.0, p.Role.Decayed(), clipped: true)))
{
    private readonly Scalar decay1 = spec.Beta1, weight1 = 1 - spec.Beta1, decay2 = spec.Beta2, weight2 = 1 - spec.Beta2;

    protected override Tensor Direction(ParameterSlot slot, Tensor gradient, long t)
    {
        var m = slot.StateOr("m", () => zeros_like(slot.Parameter));
        var u = m.mul(decay1).add(gradient.mul(weight1), One).sign();
        m.mul_(decay2).add_(gradient, weight2);
        return u;
    }
}
