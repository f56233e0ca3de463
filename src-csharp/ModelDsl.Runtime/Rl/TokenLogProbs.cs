using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Rl;

/// <summary>
/// Log-probabilities and entropies of the policy at sampling temperature T: log softmax(logits / T),
/// the untruncated tempered distribution. Sampling records exactly this for the sampled tokens (also
/// under top-p, whose truncation it ignores), and the update recomputes the same quantity, so the
/// ratio is 1 on the first policy iteration (verl's convention: logits divided by the rollout temperature).
/// </summary>
public static class TokenLogProbs
{
    /// <summary>logits [..., V], tokens [...] int64 -> log-probabilities [...].</summary>
    public static Tensor Of(Tensor logits, Tensor tokens, double temperature)
    {
        using var scope = NewDisposeScope();
        // The temperature held past the native call (see HeldScalars).
        using var t = temperature.ToScalar();
        var logSoftmax = logits.div(t).log_softmax(-1);
        return logSoftmax.gather(-1, tokens.unsqueeze(-1)).squeeze(-1).MoveToOuterDisposeScope();
    }

    /// <summary>logits [..., V] -> entropy of softmax(logits / T) [...].</summary>
    public static Tensor Entropy(Tensor logits, double temperature)
    {
        using var scope = NewDisposeScope();
        using var t = temperature.ToScalar();
        var logSoftmax = logits.div(t).log_softmax(-1);
        return (-(logSoftmax.exp() * logSoftmax).sum(-1)).MoveToOuterDisposeScope();
    }
}
