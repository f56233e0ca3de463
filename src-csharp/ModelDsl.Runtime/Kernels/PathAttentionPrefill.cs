using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Kernels;

/// <summary>
/// Prefill for decoding (arXiv 2505.16381, §3.3): the blockwise forward over a prompt, plus the state
/// the token-by-token recurrence of <see cref="PathAttentionNaive.TransformedLogits"/> continues from,
/// the keys carried through every transition of the prompt, H_(T-1) ... H_(j+1) k_j.
/// With k~ a key carried through the rest of its own block and P_J the whole-block products (row form,
/// k^T &lt;- k^T P^T), key block J ends as K~_J P_(J+1)^T ... P_(n-1)^T: one right-to-left sweep over the
/// blocks keeping the suffix product (d x d), O(T d^2 + (T/m) d^3) on top of the forward.
/// </summary>
public static class PathAttentionPrefill
{
    /// <summary>The attention output [B, H, T, D] and the carried keys [B, KvHeads, T, D].</summary>
    public static (Tensor Output, Tensor Keys) Forward(Tensor q, Tensor k, Tensor v, Tensor w, Tensor beta, Tensor? logForget,
        double scale, int blockSize = PathAttentionBlockwise.DefaultBlockSize)
    {
        PathShapes.Check(q, k, v, w, beta, logForget);
        if (blockSize < 1)
            throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "the PaTH block size must be at least 1");
        using var scope = NewDisposeScope();
        var prepared = PathAttentionBlockwise.Prepare(q, k, v, w, beta, logForget, scale, blockSize);
        var output = prepared.Unblock(PathAttentionBlockwise.Walk(prepared, 0, prepared.Blocks, freeSteps: !torch.is_grad_enabled()).Output);

        var (batch, kvHeads, headDim) = (k.shape[0], k.shape[1], k.shape[3]);
        var groups = q.shape[1] / kvHeads;
        var blocks = prepared.Blocks;
        // Grouped-query heads were repeated in the preparation: keep one copy per key/value head.
        Tensor PerKvHead(Tensor t) => t.reshape(blocks, batch, kvHeads, groups, t.shape[2], t.shape[3]).select(3, 0).reshape(blocks, batch * kvHeads, t.shape[2], t.shape[3]);
        var keys = PerKvHead(prepared.Keys);
        var transitions = PerKvHead(prepared.Transitions);
        var carried = new Tensor[blocks];
        var suffix = torch.eye(headDim, dtype: q.dtype, device: q.device).expand(batch * kvHeads, headDim, headDim);
        for (var block = blocks - 1; block >= 0; block--)
        {
            carried[block] = keys[block].matmul(suffix);
            if (block > 0) suffix = transitions[block].transpose(-1, -2).matmul(suffix);
        }
        var allKeys = torch.stack(carried, 0);    // [blocks, B*KvHeads, m, D]
        var cacheKeys = allKeys.permute(1, 0, 2, 3).reshape(batch, kvHeads, blocks * prepared.BlockSize, headDim).narrow(2, 0, q.shape[2]);
        return (output.MoveToOuterDisposeScope(), cacheKeys.MoveToOuterDisposeScope());
    }
}
