using TorchSharp;
using static ModelDsl.Runtime.Layers.HeldScalars;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Kernels;

/// <summary>How <see cref="PathAttentionBlockwise"/> obtains gradients.</summary>
public enum PathBackward
{
    /// <summary>The reverse walk over block pairs (<see cref="PathAttentionBackward"/>): the forward keeps
    /// only the inputs, its output and each row's log-sum-exp; the backward replays each group of query
    /// blocks' chain of carried queries and accumulates every gradient by hand. Memory linear in T.</summary>
    Handwritten,
    /// <summary>Autograd through the forward's tensor operations: simple, but it keeps every
    /// step's intermediates, so activation memory grows like T^2 (d + m) / m.</summary>
    Autograd,
    /// <summary>Keep only the inputs; the backward recomputes the walk of a few query blocks at a
    /// time and differentiates it with autograd, so activation memory grows linearly in T (about one extra forward).</summary>
    Recompute,
}

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
///   scoring against k~ and then absorbing that block: q &lt;- q P with the d x d matrix P = I - W^T U
///   (one m x d x d product per pair, cheaper than the two m x m x d products of the low-rank form while d &lt; 2m).
/// In the forward all query blocks walk together (step delta pairs query block I with key block
/// I - delta), with an online softmax (running maximum, normaliser and weighted sum), so no T x T
/// score matrix is formed: extra memory O(T (d + m) + (T/m) d^2).
/// Tensors inside are laid out blocks first, [blocks, B*H, m, ...], so a range of blocks is contiguous.
/// </summary>
public static class PathAttentionBlockwise
{
    public const int DefaultBlockSize = 64;
    private static readonly Scalar MinusInfinity = double.NegativeInfinity;

    public static Tensor Forward(Tensor q, Tensor k, Tensor v, Tensor w, Tensor beta, Tensor? logForget, double scale,
        int blockSize = DefaultBlockSize, PathBackward backward = PathBackward.Handwritten)
    {
        PathShapes.Check(q, k, v, w, beta, logForget);
        if (blockSize < 1)
            throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "the PaTH block size must be at least 1");
        var needsGradient = torch.is_grad_enabled() &&
            new[] { q, k, v, w, beta, logForget }.Any(t => t is not null && t.requires_grad);
        if (needsGradient && backward == PathBackward.Handwritten)
            return PathAttentionBackward.Function.apply(q, k, v, w, beta, logForget, scale, blockSize);
        if (needsGradient && backward == PathBackward.Recompute)
            return RecomputingFunction.apply(q, k, v, w, beta, logForget, scale, blockSize);
        using var scope = NewDisposeScope();
        var prepared = Prepare(q, k, v, w, beta, logForget, scale, blockSize);
        var walk = Walk(prepared, 0, prepared.Blocks, freeSteps: !needsGradient);
        return prepared.Unblock(walk.Output).MoveToOuterDisposeScope();
    }

    /// <summary>Per-block quantities every query block needs, [blocks, B*H, m, ...], grouped-query
    /// heads already repeated and the sequence padded to whole blocks. Transitions [blocks, B*H, d, d]
    /// are the whole-block products P = I - W^T U acting on row vectors (q &lt;- q P). Queries, gate sums
    /// and local scores include the softmax scale.</summary>
    internal sealed record Prepared(Tensor Queries, Tensor Keys, Tensor Transitions, Tensor Values,
        Tensor LocalScores, Tensor? GateSums, double Scale, long Batch, long Heads, long Length)
    {
        public IEnumerable<Tensor> Tensors => new[] { Queries, Keys, Transitions, Values, LocalScores }
            .Concat(GateSums is null ? [] : [GateSums]);

        public long Blocks => Values.shape[0];
        public long BlockSize => Values.shape[2];

        /// <summary>[blocks, B*H, m, D] back to [B, H, T, D] without the padding.</summary>
        public Tensor Unblock(Tensor blocked) =>
            blocked.permute(1, 0, 2, 3).reshape(Batch, Heads, Blocks * BlockSize, blocked.shape[3]).narrow(2, 0, Length);

        /// <summary>[B, H, T, D] to [blocks, B*H, m, D], zero-padding to whole blocks.</summary>
        public Tensor Block(Tensor t)
        {
            var padded = Blocks * BlockSize;
            if (t.shape[2] != padded) t = nn.functional.pad(t, [0, 0, 0, padded - t.shape[2]]);
            return t.reshape(Batch * Heads, Blocks, BlockSize, t.shape[3]).transpose(0, 1).contiguous();
        }
    }

    internal static Prepared Prepare(Tensor q, Tensor k, Tensor v, Tensor w, Tensor beta, Tensor? logForget, double scale, int blockSize)
    {
        var (batch, heads, length, headDim) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3]);
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
        var rows = batch * heads;
        Tensor Blocked(Tensor t) => t.reshape(rows, blocks, m, headDim).transpose(0, 1).contiguous();
        var (Q, K, V, W) = (Blocked(q), Blocked(k), Blocked(v), Blocked(w));
        var B = beta.reshape(rows, blocks, m, 1).transpose(0, 1);
        var G = gateSums?.reshape(rows, blocks, m).transpose(0, 1).contiguous();

        // UT transform per block.
        var betaW = B * W;
        var identity = torch.eye(m, dtype: q.dtype, device: q.device);
        var unitLower = identity.add(betaW.matmul(W.transpose(-1, -2)).tril(-1), One);
        var T = torch.linalg.solve_triangular(unitLower, identity.expand(unitLower.shape).contiguous(), upper: false, left: true, unitriangular: true);
        var U = T.matmul(betaW);

        var queryDirections = Q.matmul(W.transpose(-1, -2)).tril();
        var transitionKeys = T.matmul(betaW.matmul(K.transpose(-1, -2)).tril(-1));
        var carriedQueries = Q - queryDirections.matmul(U);
        var carriedKeys = K - transitionKeys.transpose(-1, -2).matmul(W);
        var transitions = torch.eye(headDim, dtype: q.dtype, device: q.device) - W.transpose(-1, -2).matmul(U);

        var local = Q.matmul(K.transpose(-1, -2)).tril() - queryDirections.matmul(transitionKeys);
        local = local.masked_fill(torch.ones(m, m, dtype: ScalarType.Bool, device: q.device).triu(1), MinusInfinity);
        if (G is not null)
            local = local.add(G.unsqueeze(-1), One) - G.unsqueeze(-2);
        // Queries and gate sums are scaled here once, so that the walks' score blocks need no scaling.
        using var heldScale = scale.ToScalar();
        return new Prepared(carriedQueries.mul(heldScale), carriedKeys, transitions, V, local.mul(heldScale), G?.mul(heldScale), scale, batch, heads, length);
    }

    /// <summary>The walk's result for a range of query blocks: the normalised output [count, B*H, m, D]
    /// and each row's log-sum-exp of its scaled scores [count, B*H, m] (what the backward needs).</summary>
    internal sealed record WalkResult(Tensor Output, Tensor LogSumExp);

    /// <summary>
    /// The outputs of query blocks first .. first+count-1. Step delta pairs each query block
    /// I &gt;= delta of the range with key block I - delta; the blocks that have reached key block 0
    /// drop out of the front. freeSteps releases each step's intermediates (only valid when no graph
    /// is being recorded that needs them, or when autograd holds its own references).
    /// </summary>
    internal static WalkResult Walk(Prepared p, long first, long count, bool freeSteps)
    {
        var local = p.LocalScores.narrow(0, first, count);
        var runningMax = local.amax([-1]).detach();
        var weights = (local - runningMax.unsqueeze(-1)).exp();
        var normaliser = weights.sum(-1);
        var weighted = weights.matmul(p.Values.narrow(0, first, count));

        // Blocks that have met key block 0 are finished: their state moves here (in block order) and
        // the walk goes on with the rest, so no step copies the finished blocks' state along.
        // (Without a graph they are copied out, so that the step tensors they came from can be freed.)
        var finished = new List<(Tensor Max, Tensor Normaliser, Tensor Weighted)>();
        void Finish(Tensor max, Tensor norm, Tensor sum) =>
            finished.Add(freeSteps ? (max.narrow(0, 0, 1).clone(), norm.narrow(0, 0, 1).clone(), sum.narrow(0, 0, 1).clone())
                : (max.narrow(0, 0, 1), norm.narrow(0, 0, 1), sum.narrow(0, 0, 1)));
        var last = first + count - 1;
        var queryStart = first;
        if (first == 0)   // block 0 has no earlier key blocks
        {
            Finish(runningMax, normaliser, weighted);
            (runningMax, normaliser, weighted) = (runningMax.narrow(0, 1, count - 1), normaliser.narrow(0, 1, count - 1), weighted.narrow(0, 1, count - 1));
            queryStart = 1;
        }
        var queries = p.Queries.narrow(0, queryStart, last - queryStart + 1);
        for (long delta = 1; delta <= last; delta++)
        {
            var step = freeSteps ? NewDisposeScope() : null;
            var active = last - queryStart + 1;        // query blocks queryStart .. last
            var keyStart = queryStart - delta;         // their key blocks, I - delta
            // Queries and gate sums come pre-scaled from the preparation.
            var scores = queries.matmul(p.Keys.narrow(0, keyStart, active).transpose(-1, -2));
            if (p.GateSums is { } G)
                scores = scores.add(G.narrow(0, queryStart, active).unsqueeze(-1), One) - G.narrow(0, keyStart, active).unsqueeze(-2);

            var newMax = torch.maximum(runningMax, scores.amax([-1])).detach();
            var decay = (runningMax - newMax).exp();
            // Without a graph (freeSteps) the score block is turned into weights in place.
            var stepWeights = freeSteps ? scores.sub_(newMax.unsqueeze(-1)).exp_() : (scores - newMax.unsqueeze(-1)).exp();
            var newNormaliser = (normaliser * decay).add(stepWeights.sum(-1), One);
            var newWeighted = freeSteps
                ? stepWeights.matmul(p.Values.narrow(0, keyStart, active)).add_(weighted * decay.unsqueeze(-1), One)
                : (weighted * decay.unsqueeze(-1)).add(stepWeights.matmul(p.Values.narrow(0, keyStart, active)), One);
            // Before the next step the block that met key block 0 is finished; the others absorb their
            // key block I - delta before meeting block I - delta - 1.
            var drop = keyStart == 0 ? 1L : 0L;
            var remaining = active - drop;
            Tensor[] carried =
            [
                newMax, newNormaliser, newWeighted,
                queries.narrow(0, drop, remaining).matmul(p.Transitions.narrow(0, keyStart + drop, remaining)),
            ];
            if (step is not null)
            {
                step.MoveToOuter(carried);
                step.Dispose();
                // The previous state is no longer needed (finished blocks were copied out).
                runningMax.Dispose(); normaliser.Dispose(); weighted.Dispose(); queries.Dispose();
            }
            (runningMax, normaliser, weighted, queries) = (carried[0], carried[1], carried[2], carried[3]);
            if (drop == 1)
            {
                Finish(runningMax, normaliser, weighted);
                (runningMax, normaliser, weighted) = (runningMax.narrow(0, 1, remaining), normaliser.narrow(0, 1, remaining), weighted.narrow(0, 1, remaining));
                queryStart++;
            }
        }
        if (runningMax.shape[0] > 0) finished.Add((runningMax, normaliser, weighted));
        var allMax = torch.cat(finished.Select(f => f.Max).ToList(), 0);
        var allNormaliser = torch.cat(finished.Select(f => f.Normaliser).ToList(), 0);
        var allWeighted = torch.cat(finished.Select(f => f.Weighted).ToList(), 0);
        return new WalkResult(allWeighted / allNormaliser.unsqueeze(-1), allMax.add(allNormaliser.log(), One));
    }

    /// <summary>
    /// The autograd twin of the handwritten backward. Forward without a graph; backward in three stages:
    /// (1) rebuild the per-block quantities from the saved inputs with a graph (O(T (d + m)) memory);
    /// (2) for each group of query blocks, recompute their walk from detached copies of those
    /// quantities and backpropagate its output gradient into them, one group's graph at a time;
    /// (3) backpropagate the accumulated gradients of the quantities into the inputs.
    /// </summary>
    private sealed class RecomputingFunction : autograd.SingleTensorFunction<RecomputingFunction>
    {
        /// <summary>Query blocks recomputed together: their walks run vectorised (fewer, larger steps),
        /// and memory stays O(BackwardGroup * T (d + m)), still linear in T.</summary>
        private const int BackwardGroup = 4;

        public override string Name => "PathAttentionBlockwiseRecompute";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var inputs = vars.Take(6).Select(o => o as Tensor).ToArray();
            var (scale, blockSize) = ((double)vars[6], (int)vars[7]);
            ctx.save_for_backward(inputs.Where(t => t is not null).Select(t => t!).ToList());
            ctx.save_data("scale", scale);
            ctx.save_data("blockSize", blockSize);
            ctx.save_data("gate", inputs[5] is not null);
            using var scope = NewDisposeScope();
            var prepared = Prepare(inputs[0]!, inputs[1]!, inputs[2]!, inputs[3]!, inputs[4]!, inputs[5], scale, blockSize);
            return prepared.Unblock(Walk(prepared, 0, prepared.Blocks, freeSteps: true).Output).MoveToOuterDisposeScope();
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            var saved = ctx.get_saved_variables();
            var (scale, blockSize, gate) = ((double)ctx.get_data("scale"), (int)ctx.get_data("blockSize"), (bool)ctx.get_data("gate"));
            using var scope = NewDisposeScope();
            using var enable = torch.enable_grad();
            var leaves = saved.Select(t => t.detach().requires_grad_(true)).ToList();
            var prepared = Prepare(leaves[0], leaves[1], leaves[2], leaves[3], leaves[4], gate ? leaves[5] : null, scale, blockSize);
            var detached = prepared with
            {
                Queries = Leaf(prepared.Queries), Keys = Leaf(prepared.Keys), Transitions = Leaf(prepared.Transitions),
                Values = Leaf(prepared.Values), LocalScores = Leaf(prepared.LocalScores),
                GateSums = prepared.GateSums is null ? null : Leaf(prepared.GateSums),
            };
            var gradient = prepared.Block(gradOutput);  // padded rows get zero gradient
            for (long first = 0; first < prepared.Blocks; first += BackwardGroup)
            {
                using var groupScope = NewDisposeScope();
                var count = Math.Min(BackwardGroup, prepared.Blocks - first);
                Walk(detached, first, count, freeSteps: false).Output.backward([gradient.narrow(0, first, count)]);
            }
            // Chain the accumulated gradients of the per-block quantities back to the inputs.
            var pairs = prepared.Tensors.Zip(detached.Tensors).Where(pair => pair.Second.grad is not null).ToList();
            torch.autograd.backward(pairs.Select(pair => pair.First).ToList(), pairs.Select(pair => pair.Second.grad!).ToList());
            var gradients = leaves.Select(l => l.grad is { } g ? g.detach().clone().MoveToOuterDisposeScope() : l.zeros_like().MoveToOuterDisposeScope()).ToList();
            return [gradients[0], gradients[1], gradients[2], gradients[3], gradients[4], gate ? gradients[5] : null!, null!, null!];
        }

        private static Tensor Leaf(Tensor t) => t.detach().requires_grad_(true);
    }
}
