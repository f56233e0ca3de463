using static TorchSharp.torch;

namespace ModelDsl.Runtime.Optim;

/// <summary>Adam's exponential moving averages kept in a slot's state as "m" and "v".</summary>
public static class AdamMoments
{
    /// <summary>m = b1 m + (1-b1) x; returns m.</summary>
    public static Tensor UpdateFirst(ParameterSlot slot, Tensor x, double beta1)
    {
        var m = slot.StateOr("m", () => zeros_like(slot.Parameter));
        m.mul_(beta1).add_(x, alpha: 1 - beta1);
        return m;
    }

    /// <summary>v = b2 v + (1-b2) x^2; returns v.</summary>
    public static Tensor UpdateSecond(ParameterSlot slot, Tensor x, double beta2)
    {
        var v = slot.StateOr("v", () => zeros_like(slot.Parameter));
        v.mul_(beta2).addcmul_(x, x, value: 1 - beta2);
        return v;
    }

    /// <summary>The bias-corrected Adam direction mhat / (sqrt(vhat) + eps) for moments after t updates.</summary>
    public static Tensor Direction(Tensor m, Tensor v, double beta1, double beta2, double eps, long t) =>
        m / (1 - Math.Pow(beta1, t)) / ((v / (1 - Math.Pow(beta2, t))).sqrt() + eps);
}
