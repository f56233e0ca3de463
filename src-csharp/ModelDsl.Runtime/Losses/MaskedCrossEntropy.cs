using static TorchSharp.torch;

namespace ModelDsl.Runtime.Losses;

/// <summary>Next-token cross-entropy counted only where the loss mask is 1.</summary>
public static class MaskedCrossEntropy
{
    /// <summary>
    /// Sum over masked positions of -log p(target): logits [B, T, V], targets int64 [B, T], mask [B, T].
    /// Returning the sum (not the mean) lets the caller divide by the masked-token count of the whole
    /// global batch, so gradient accumulation equals one large batch exactly.
    /// </summary>
    public static Tensor Sum(Tensor logits, Tensor targets, Tensor mask)
    {
        var vocabulary = logits.shape[^1];
        using var perToken = nn.functional.cross_entropy(logits.reshape(-1, vocabulary), targets.reshape(-1), reduction: nn.Reduction.None);
        using var weights = mask.reshape(-1).to(perToken.dtype);
        return (perToken * weights).sum();
    }
}
