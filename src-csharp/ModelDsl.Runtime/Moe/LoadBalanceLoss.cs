using ModelDsl.Runtime.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Moe;

/// <summary>Switch Transformer's balance loss and ST-MoE's router z-loss.</summary>
public static class LoadBalanceLoss
{
    /// <summary>
    /// E * sum_i f_i p_i with f_i = counts_i / slots (fraction of routed slots; slots = tokens * k)
    /// and p_i the mean full-softmax probability of expert i. f is a constant (top-k has no
    /// gradient); the gradient flows through p. Perfect balance with uniform p gives 1.
    /// </summary>
    public static Tensor Compute(Tensor counts, double slots, Tensor meanProbabilities)
    {
        if (slots <= 0) throw new ArgumentException($"slots must be positive, got {slots}");
        var experts = meanProbabilities.shape[0];
        using var slotCount = slots.ToScalar();
        using var expertCount = experts.ToScalar();
        var fraction = counts.detach().div(slotCount).to(meanProbabilities.dtype);
        return (fraction * meanProbabilities).sum().mul(expertCount);
    }

    /// <summary>mean over tokens of logsumexp(logits)^2 (Zoph et al. 2022, eq. 5).</summary>
    public static Tensor RouterZLoss(Tensor logits) => logits.logsumexp(-1).Squared().mean();
}
