using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Kernels;

/// <summary>
/// PaTH attention computed block by block (Yang et al. 2025, arXiv 2505.16381, §3), the training
/// path. Same inputs and result as <see cref="PathAttentionNaive.Forward"/>.
///
/// For a block of m tokens with directions W (m x d) and strengths beta, the product of its
/// transitions is H_m ... H_1 = I - W^T T diag(beta) W with the UT transform
/// T = (I + strictLower(diag(beta) W W^T))^(-1) (one unit-triangular solve). Write U = T diag(beta) W.
/// - Inside a block: s_ij = q_i k_j - tril(Q W^T)_i T strictLower(diag(beta) W K^T)_j (the sums
///   run over the transitions strictly after j and up to i).
/// - Each query is first carried through the transitions of its own block up to itself,
///   q~ = q - tril(Q W^T) U, and each key through those of its block after itself,
///   k~ = k - (T strictLower(diag(beta) W K^T))^T W. Across blocks s_ij = q~_i^T P_(I-1) ... P_(J+1) k~_j
///   with P the whole-block products, so query blocks walk the key blocks from right to left,
///   scoring against k~ and then absorbing that block: q &lt;- q - (q W^T) U.
/// All query blocks walk together (step delta pairs query block I with key block I - delta), with an
/// online softmax (running maximum, normaliser and weighted sum), so no T x T score matrix and no
/// per-pair d x d product is formed: extra memory O(T (d + m)) per step. Gradients come from
/// autograd through these tensor operations.
/// </summary>
public static class PathAttentionBlockwise
{
    public const int DefaultBlockSize = 64;

    public static Tensor Forward(Tensor q, Tensor k, Tensor v, Tensor w, Tensor beta, Tensor? logForget, double scale,
        int blockSize = DefaultBlockSize)
    {
        PathShapes.Check(q, k, v, w, beta, logForget);
        if (blockSize < 1)
            throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "the PaTH block size must be at least 1");
        var (batch, heads, length, headDim) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3]);
        using var scope = NewDisposeScope();

        // Grouped-query attention: w and beta belong to the key/value head, so they repeat with it.
        var groups = heads / k.shape[1];
        if (groups > 1)
        {
            k = k.repeat_interleave(groups, dim: 1);
            v = v.repeat_interleave(groups, dim: 1);
            w = w.repeat_interleave(groups, dim: 1);
            beta = beta.repeat_interleave(groups, dim: 1);
        }
        var gateSums = logForget?.cumsum(-1);

        // Pad to whole blocks. Padded tokens have beta = 0 (identity transitions) and only ever sit
        // after every real query, so the causal mask hides them.
        var m = Math.Min(blockSize, length);
        var blocks = (length + m - 1) / m;
        var padded = blocks * m;
        if (padded != length)
        {
            long[] pad = [0, 0, 0, padded - length];
            (q, k, v, w) = (nn.functional.pad(q, pad), nn.functional.pad(k, pad), nn.functional.pad(v, pad), nn.functional.pad(w, pad));
            beta = nn.functional.pad(beta, [0, padded - length]);
            gateSums = gateSums is null ? null : nn.functional.pad(gateSums, [0, padded - length]);
        }
        Tensor Blocked(Tensor t) => t.reshape(batch, heads, blocks, m, headDim);
        var (Q, K, V, W) = (Blocked(q), Blocked(k), Blocked(v), Blocked(w));
        var B = beta.reshape(batch, heads, blocks, m, 1);
        var G = gateSums?.reshape(batch, heads, blocks, m);

        // UT transform per block.
        var betaW = B * W;
        var identity = torch.eye(m, dtype: q.dtype, device: q.device);
        var unitLower = identity + betaW.matmul(W.transpose(-1, -2)).tril(-1);
        var T = torch.linalg.solve_triangular(unitLower, identity.expand(unitLower.shape), upper: false, left: true, unitriangular: true);
        var U = T.matmul(betaW);

        var queryDirections = Q.matmul(W.transpose(-1, -2)).tril();
        var transitionKeys = T.matmul(betaW.matmul(K.transpose(-1, -2)).tril(-1));
        var carriedQueries = Q - queryDirections.matmul(U);
        var carriedKeys = K - transitionKeys.transpose(-1, -2).matmul(W);

        // The diagonal blocks start the online softmax.
        var local = Q.matmul(K.transpose(-1, -2)).tril() - queryDirections.matmul(transitionKeys);
        local = local.masked_fill(torch.ones(m, m, dtype: ScalarType.Bool, device: q.device).triu(1), double.NegativeInfinity);
        if (G is not null)
            local = local + G.unsqueeze(-1) - G.unsqueeze(-2);
        local = local * scale;
        var runningMax = local.amax([-1]).detach();
        var weights = (local - runningMax.unsqueeze(-1)).exp();
        var normaliser = weights.sum(-1);
        var weighted = weights.matmul(V);

        var queries = carriedQueries.narrow(2, 1, blocks - 1);
        for (long delta = 1; delta < blocks; delta++)
        {
            var active = blocks - delta;  // query blocks delta .. blocks-1 with key blocks 0 .. active-1
            var scores = queries.matmul(carriedKeys.narrow(2, 0, active).transpose(-1, -2));
            if (G is not null)
                scores = scores + G.narrow(2, delta, active).unsqueeze(-1) - G.narrow(2, 0, active).unsqueeze(-2);
            scores = scores * scale;

            var oldMax = runningMax.narrow(2, delta, active);
            var newMax = torch.maximum(oldMax, scores.amax([-1])).detach();
            var decay = (oldMax - newMax).exp();
            var stepWeights = (scores - newMax.unsqueeze(-1)).exp();
            var newNormaliser = normaliser.narrow(2, delta, active) * decay + stepWeights.sum(-1);
            var newWeighted = weighted.narrow(2, delta, active) * decay.unsqueeze(-1) + stepWeights.matmul(V.narrow(2, 0, active));
            runningMax = torch.cat([runningMax.narrow(2, 0, delta), newMax], 2);
            normaliser = torch.cat([normaliser.narrow(2, 0, delta), newNormaliser], 2);
            weighted = torch.cat([weighted.narrow(2, 0, delta), newWeighted], 2);

            if (active > 1)
            {
                // Query block I absorbs key block I - delta before meeting block I - delta - 1.
                var next = queries.narrow(2, 1, active - 1);
                var absorbed = next.matmul(W.narrow(2, 1, active - 1).transpose(-1, -2)).matmul(U.narrow(2, 1, active - 1));
                queries = next - absorbed;
            }
        }
        var output = (weighted / normaliser.unsqueeze(-1)).reshape(batch, heads, padded, headDim).narrow(2, 0, length);
        return output.MoveToOuterDisposeScope();
    }
}
