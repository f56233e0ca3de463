using ModelDsl.Runtime.Parameters;
using static TorchSharp.torch;
using ModelDsl.Runtime.Variants;
using TorchSharp;
using static ModelDsl.Runtime.Layers.HeldScalars;

namespace ModelDsl.Runtime.Optim;

/// <summary>AdamW (Loshchilov and Hutter 2019): u = mhat / (sqrt(vhat) + eps) on every parameter; clipping over all of them.</summary>
[Implements(typeof(Core.Training.AdamW))]
public sealed class AdamWOptimizer(Core.Training.AdamW spec, IReadOnlyList<NamedParameter> parameters, double? clipGradNorm)
    : OptimizerBase(spec.Lr, spec.WeightDecay, clipGradNorm,
        parameters.Select(p => new ParameterSlot(p, "adamW", 1.0, p.Role.Decayed(), clipped: true)))
{
    private readonly AdamMoments adam = new(spec.Beta1, spec.Beta2, spec.Eps);
    private readonly Scalar decay2 = spec.Beta2, weight2 = 1 - spec.Beta2;

    /// <summary>The direction as written in the paper (the base class's out-of-place form; the step itself uses <see cref="Update"/>).</summary>
    protected override Tensor Direction(ParameterSlot slot, Tensor gradient, long t)
    {
        var m = adam.UpdateFirst(slot, gradient);
        var v = adam.UpdateSecond(slot, gradient);
        return adam.Direction(m, v, t);
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
        if (slot.Decay && WeightDecay > 0)
        {
            using var decayFactor = (1 - stepSize * WeightDecay).ToScalar();
            parameter.mul_(decayFactor);
        }
        // lerp_ takes its weight as a tensor (what the implicit conversion from a double makes).
        using (var weight1 = tensor(1 - spec.Beta1)) m.lerp_(gradient, weight1);
        v.mul_(decay2).addcmul_(gradient, gradient, weight2);
        var firstCorrection = 1 - Math.Pow(spec.Beta1, t);
        var secondCorrectionRoot = Math.Sqrt(1 - Math.Pow(spec.Beta2, t));
        using var denominator = v.sqrt();
        using var epsilon = (spec.Eps * secondCorrectionRoot).ToScalar();
        denominator.add_(epsilon, One);
        using var scale = (-stepSize * secondCorrectionRoot / firstCorrection).ToScalar();
        parameter.addcdiv_(m, denominator, scale);
    }
}
