using ModelDsl.Runtime.Parameters;
using static TorchSharp.torch;
using ModelDsl.Runtime.Variants;

namespace ModelDsl.Runtime.Optim;

/// <summary>Lion (Chen et al. 2023): u = sign(b1 m + (1-b1) g), then m = b2 m + (1-b2) g.</summary>
[Implements(typeof(Core.Training.Lion))]
public sealed class LionOptimizer(Core.Training.Lion spec, IReadOnlyList<NamedParameter> parameters, double? clipGradNorm)
    : OptimizerBase(spec.Lr, spec.WeightDecay, clipGradNorm,
        parameters.Select(p => new ParameterSlot(p, "lion", 1.0, p.Role.Decayed(), clipped: true)))
{
    protected override Tensor Direction(ParameterSlot slot, Tensor gradient, long t)
    {
        var m = slot.StateOr("m", () => zeros_like(slot.Parameter));
        var u = (m * spec.Beta1 + gradient * (1 - spec.Beta1)).sign();
        m.mul_(spec.Beta2).add_(gradient, alpha: 1 - spec.Beta2);
        return u;
    }
}
