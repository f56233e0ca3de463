using ModelDsl.Core.Rl;
using TorchSharp;
using static ModelDsl.Runtime.Layers.HeldScalars;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Rl;

/// <summary>Advantages from the rewards of one step (see <see cref="AdvantageNormalization"/>).</summary>
public static class Advantages
{
    /// <summary>Rewards [prompts, G] -> advantages [prompts, G], in the rewards' dtype. A group of one
    /// (or a batch of one) has no unbiased standard deviation; G >= 2 is enforced by <see cref="RlSpec"/>.</summary>
    public static Tensor Compute(Tensor rewards, AdvantageSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (rewards.dim() != 2 || rewards.shape[1] < 2)
            throw new ArgumentException($"rewards must be [prompts, G] with G >= 2, got [{string.Join(", ", rewards.shape)}]");
        using var scope = NewDisposeScope();
        var unbiased = spec.Std == StandardDeviation.Unbiased;
        // eps and the sums' alpha held past the native calls (see HeldScalars).
        using var eps = spec.Eps.ToScalar();
        var groupMean = rewards.mean([1], keepdim: true);
        Tensor result = spec.Normalization switch
        {
            AdvantageNormalization.Group => (rewards - groupMean) / rewards.std(1, unbiased, keepdim: true).add(eps, One),
            AdvantageNormalization.Batch => (rewards - rewards.mean()) / rewards.std(unbiased).add(eps, One),
            AdvantageNormalization.None => rewards - groupMean,
            _ => throw new ArgumentOutOfRangeException(nameof(spec), spec.Normalization, "unknown advantage normalization"),
        };
        return result.MoveToOuterDisposeScope();
    }
}
