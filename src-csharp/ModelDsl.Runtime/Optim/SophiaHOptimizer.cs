using ModelDsl.Runtime.Parameters;
using static TorchSharp.torch;
using ModelDsl.Runtime.Variants;
using TorchSharp;

namespace ModelDsl.Runtime.Optim;

/// <summary>
/// Sophia-H (Liu et al. 2023): m = b1 m + (1-b1) g; at steps 1, 1+k, 1+2k, ... the diagonal Hessian
/// estimate h = b2 h + (1-b2) z * (H z) with Hutchinson's z ~ N(0, I); u = clip(mhat / max(gamma h, eps), -1, 1).
/// z comes from a generator seeded by the step number, so a resumed run draws the same z. H z is
/// asked of <see cref="StepContext.HessianVectorProduct"/> (double backward over the same global batch).
/// </summary>
[Implements(typeof(Core.Training.SophiaH))]
public sealed class SophiaHOptimizer(Core.Training.SophiaH spec, IReadOnlyList<NamedParameter> parameters, double? clipGradNorm)
    : OptimizerBase(spec.Lr, spec.WeightDecay, clipGradNorm,
        parameters.Select(p => new ParameterSlot(p, "sophiaH", 1.0, p.Role.Decayed(), clipped: true)))
{
    private static readonly Scalar MinUpdate = -1.0, MaxUpdate = 1.0;
    private readonly AdamMoments adam = new(spec.Beta1, spec.Beta2, spec.Eps);
    private readonly Scalar decay2 = spec.Beta2, weight2 = 1 - spec.Beta2, gamma = spec.Gamma, eps = spec.Eps;

    public override bool NeedsHessianVectorProduct => StepCount % spec.HessianInterval == 0;

    protected override void BeforeUpdate(StepContext context)
    {
        if ((StepCount - 1) % spec.HessianInterval != 0) return;
        var product = context.HessianVectorProduct
            ?? throw new InvalidOperationException("Sophia-H needs a Hessian-vector product at this step but the step context provides none");
        using var generator = new Generator((ulong)StepCount * 0x9E3779B97F4A7C15UL);
        var probes = Slots.Select(s => randn(s.Parameter.shape, ScalarType.Float64, generator: generator)
            .to(s.Parameter.dtype, s.Parameter.device)).ToList();
        var hessianTimesProbe = product(probes);
        if (hessianTimesProbe.Count != Slots.Count)
            throw new InvalidOperationException($"the Hessian-vector product returned {hessianTimesProbe.Count} tensors for {Slots.Count} parameters");
        using var noGrad = no_grad();
        for (var i = 0; i < Slots.Count; i++)
        {
            if (hessianTimesProbe[i] is null) continue;
            var h = Slots[i].StateOr("h", () => zeros_like(Slots[i].Parameter));
            h.mul_(decay2).add_(probes[i] * hessianTimesProbe[i].detach(), weight2);
        }
    }

    protected override Tensor Direction(ParameterSlot slot, Tensor gradient, long t)
    {
        var m = adam.UpdateFirst(slot, gradient);
        var h = slot.StateOr("h", () => zeros_like(slot.Parameter));
        using var firstCorrection = (1 - Math.Pow(spec.Beta1, t)).ToScalar();
        var mHat = m.div(firstCorrection);
        return (mHat / h.mul(gamma).clamp_min(eps)).clamp(MinUpdate, MaxUpdate);
    }
}
