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
    /// <summary>The direction as written in the paper (the base class's out-of-place form; the step itself uses <see cref="Update"/>).</summary>
    protected override Tensor Direction(ParameterSlot slot, Tensor gradient, long t)
    {
        var m = AdamMoments.UpdateFirst(slot, gradient, spec.Beta1);
        var v = AdamMoments.UpdateSecond(slot, gradient, spec.Beta2);
        return AdamMoments.Direction(m, v, spec.Beta1, spec.Beta2, spec.Eps, t);
    }

    /// <summary>
    /// The same update in place, seven passes over the parameter's memory and one temporary:
    /// W *= 1 - s wd (decoupled decay, Algorithm 2 line 12, applied first as it reads the old W);
    /// m = lerp(m, g, 1 - b1); v = b2 v + (1 - b2) g^2;
    /// W -= s sqrt(c2) / c1 * m / (sqrt(v) + eps sqrt(c2)), with c_i = 1 - b_i^t. The last line is
    /// s mhat / (sqrt(vhat) + eps) with the bias corrections folded into two scalars (Kingma and Ba
    /// 2015, end of section 2). Equal to the paper's form up to rounding (tested against it in fp64).
    /// </summary>
    protected override void Update(ParameterSlot slot, Tensor gradient, double stepSize)
    {
        var t = slot.Steps;
        var m = slot.StateOr("m", () => zeros_like(slot.Parameter));
        var v = slot.StateOr("v", () => zeros_like(slot.Parameter));
        var parameter = slot.Parameter;
        if (slot.Decay && WeightDecay > 0) parameter.mul_(1 - stepSize * WeightDecay);
        m.lerp_(gradient, 1 - spec.Beta1);
        v.mul_(spec.Beta2).addcmul_(gradient, gradient, value: 1 - spec.Beta2);
        var firstCorrection = 1 - Math.Pow(spec.Beta1, t);
        var secondCorrectionRoot = Math.Sqrt(1 - Math.Pow(spec.Beta2, t));
        using var denominator = v.sqrt();
        denominator.add_(spec.Eps * secondCorrectionRoot);
        parameter.addcdiv_(m, denominator, value: -stepSize * secondCorrectionRoot / firstCorrection);
    }
}
