using ModelDsl.Runtime.Parameters;
using static TorchSharp.torch;
using ModelDsl.Runtime.Variants;

namespace ModelDsl.Runtime.Optim;

/// <summary>
/// MARS-AdamW (Yuan et al. 2024): variance-reduced gradient c = g + gamma b1/(1-b1) (g - g_prev),
/// rescaled to norm 1 per tensor when larger, then Adam on c. At the first step g_prev = g (c = g).
/// g is the gradient after the trainer's global clip.
/// </summary>
[Implements(typeof(Core.Training.Mars))]
public sealed class MarsOptimizer(Core.Training.Mars spec, IReadOnlyList<NamedParameter> parameters, double? clipGradNorm)
    : OptimizerBase(spec.Lr, spec.WeightDecay, clipGradNorm,
        parameters.Select(p => new ParameterSlot(p, "mars", 1.0, p.Role.Decayed(), clipped: true)))
{
    protected override Tensor Direction(ParameterSlot slot, Tensor gradient, long t)
    {
        var previous = slot.State.TryGetValue("previousGradient", out var p) ? p : gradient;
        var c = gradient + (gradient - previous) * (spec.Gamma * spec.Beta1 / (1 - spec.Beta1));
        var norm = c.norm();
        c = c / norm.clamp_min(1.0);
        slot.SetState("previousGradient", gradient.clone());
        var m = AdamMoments.UpdateFirst(slot, c, spec.Beta1);
        var v = AdamMoments.UpdateSecond(slot, c, spec.Beta2);
        return AdamMoments.Direction(m, v, spec.Beta1, spec.Beta2, spec.Eps, t);
    }
}
