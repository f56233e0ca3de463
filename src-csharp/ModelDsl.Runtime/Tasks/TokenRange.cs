using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tasks;

/// <summary>
/// Token ids are checked where inputs enter (batch construction, prompts), not inside the model:
/// reading a minimum and maximum back is a host synchronisation, which a forward pass on a GPU must
/// not pay at every step. Batches are built on the CPU, where the check is a cheap scan.
/// </summary>
public static class TokenRange
{
    /// <param name="what">What the tokens are, for the error (e.g. "training batch 3.0 of task sparseParity").</param>
    public static void Check(Tensor tokens, long vocab, string what)
    {
        if (tokens.numel() == 0) return;
        using var scope = NewDisposeScope();
        var smallest = tokens.min().item<long>();
        var largest = tokens.max().item<long>();
        if (smallest < 0 || largest >= vocab)
            throw new ArgumentException($"{what}: token ids must lie in [0, vocab = {vocab}), got values from {smallest} to {largest}");
    }
}
