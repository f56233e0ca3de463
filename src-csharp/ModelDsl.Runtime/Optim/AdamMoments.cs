using TorchSharp;
using static ModelDsl.Runtime.Layers.HeldScalars;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Optim;

/// <summary>Adam's exponential moving averages kept in a slot's state as "m" and "v". The
/// hyper-parameters are held as Scalars for the optimizer's lifetime (see <see cref="Layers.HeldScalars"/>).</summary>
public sealed class AdamMoments(double beta1, double beta2, double eps)
{
    private readonly Scalar decay1 = beta1, weight1 = 1 - beta1, decay2 = beta2, weight2 = 1 - beta2, epsilon = eps;

    /// <summary>m = b1 m + (1-b1) x; returns m.</summary>
    public Tensor UpdateFirst(ParameterSlot slot, Tensor x)
    {
        var m = slot.StateOr("m", () => zeros_like(slot.Parameter));
        m.mul_(decay1).add_(x, weight1);
        return m;
    }

    /// <summary>v = b2 v + (1-b2) x^2; returns v.</summary>
    public Tensor UpdateSecond(ParameterSlot slot, Tensor x)
    {
        var v = slot.StateOr("v", () => zeros_like(slot.Parameter));
        v.mul_(decay2).addcmul_(x, x, weight2);
        return v;
    }

    /// <summary>The bias-corrected Adam direction mhat / (sqrt(vhat) + eps) for moments after t updates.</summary>
    public Tensor Direction(Tensor m, Tensor v, long t)
    {
        using var firstCorrection = (1 - Math.Pow(beta1, t)).ToScalar();
        using var secondCorrection = (1 - Math.Pow(beta2, t)).ToScalar();
        return m.div(firstCorrection).div(v.div(secondCorrection).sqrt().add(epsilon, One));
    }
}
