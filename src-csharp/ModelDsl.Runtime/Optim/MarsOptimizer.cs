using ModelDsl.Runtime.Parameters;
using static TorchSharp.torch;
using ModelDsl.Runtime.Variants;
using TorchSharp;
using static ModelDsl.Runtime.Layers.HeldScalars;

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
    private static readonly Scalar MaxNorm = 1.0;
    private readonly AdamMoments adam = new(spec.Beta1, spec.Beta2, spec.Eps);
    private readonly Scalar correctionWeight = spec.Gamma * spec.Beta1 / (1 - spec.Beta1);

    protected override Tensor Direction(ParameterSlot slot, Tensor gradient, long t)
    {
        var previous = slot.State.TryGetValue("previousGradient", out var p) ? p : gradient;
        var c = gradient.add((gradient - previous).mul(correctionWeight), One);
        var norm = c.norm();
        c = c / norm.clamp_min(MaxNorm);
        slot.SetState("previousGradient", gradient.clone());
        var m = adam.UpdateFirst(slot, c);
        var v = adam.UpdateSecond(slot, c);
        return adam.Direction(m, v, t);
    }
}
