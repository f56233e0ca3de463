using static TorchSharp.torch;

namespace ModelDsl.Runtime.Kernels;

/// <summary>
/// Mixture-of-experts dispatch and combine without per-token loops: the N*k token slots are sorted
/// by expert (stable, so within an expert they stay in token order), the tokens gathered with one
/// index_select into per-expert contiguous segments, each expert runs one batched SwiGLU on its
/// segment, and the weighted results are summed back per token with one index_add.
/// <para>Capacity (when given): each expert keeps the first <c>capacity</c> slots of its segment,
/// i.e. in token order (flattened position, then choice rank); the rest are dropped and contribute
/// zero. Reference: <see cref="MoeDispatchNaive"/>.</para>
/// </summary>
public static class MoeDispatch
{
    /// <param name="x">tokens [N, D]</param>
    /// <param name="experts">chosen expert ids, int64 [N, k]</param>
    /// <param name="weights">combine weights [N, k] (dtype of x)</param>
    /// <param name="capacity">slots per expert; null means dropless</param>
    public static DispatchResult Forward(Tensor x, Tensor experts, Tensor weights, ExpertWeights expertWeights, long? capacity = null)
    {
        Check(x, experts, weights, expertWeights, capacity);
        using var scope = NewDisposeScope();
        var expertCount = expertWeights.Experts;
        var k = experts.shape[1];
        var flatExperts = experts.reshape(-1);
        var (sortedExperts, order) = flatExperts.sort(dim: 0, descending: false, stable: true);
        // One host transfer: segment lengths decide the per-expert split below. It also checks the
        // ids without a second synchronisation: an id >= E lengthens the counts (a negative one makes bincount throw).
        var counts = flatExperts.bincount(null, expertCount).cpu().data<long>().ToArray();
        if (counts.Length != expertCount)
            throw new ArgumentException($"expert ids must lie in [0, {expertCount}), got ids up to {counts.Length - 1}");

        var keptSlots = ones(flatExperts.shape[0], ScalarType.Bool, x.device);
        long dropped = 0;
        if (capacity is { } limit)
        {
            var starts = ExclusivePrefixSum(counts);
            var positionInExpert = arange(order.shape[0], ScalarType.Int64, x.device)
                - tensor(starts, ScalarType.Int64, x.device).index_select(0, sortedExperts);
            var keepSorted = positionInExpert.lt(limit);
            keptSlots = keptSlots.index_put_(keepSorted, order);
            order = order.masked_select(keepSorted);
            dropped = counts.Sum(c => Math.Max(0, c - limit));
            counts = counts.Select(c => Math.Min(c, limit)).ToArray();
        }

        var tokenOfSlot = order.div(k, rounding_mode: RoundingMode.floor);
        var gathered = x.index_select(0, tokenOfSlot);
        var slotWeights = weights.reshape(-1).index_select(0, order).unsqueeze(1);
        // split/unbind rather than narrow/select per expert: their backward is one cat/stack instead
        // of one full-size zero gradient per expert.
        var segments = gathered.split(counts, 0);
        var gateUps = expertWeights.GateUp.unbind(0);
        var downs = expertWeights.Down.unbind(0);
        var outputs = new List<Tensor>();
        for (var e = 0; e < expertCount; e++)
        {
            if (counts[e] == 0) continue;
            var halves = segments[e].matmul(gateUps[e].t()).chunk(2, -1);
            outputs.Add((nn.functional.silu(halves[0]) * halves[1]).matmul(downs[e].t()));
        }
        var combined = zeros_like(x);
        if (outputs.Count > 0)
            combined = combined.index_add(0, tokenOfSlot, cat(outputs, 0) * slotWeights, 1);
        return new DispatchResult(combined.MoveToOuterDisposeScope(), dropped, keptSlots.reshape(experts.shape).MoveToOuterDisposeScope());
    }

    /// <summary>ceil(factor * tokens * k / experts): the balanced load times the capacity factor.</summary>
    public static long Capacity(double factor, long tokens, long k, long experts) =>
        (long)Math.Ceiling(factor * tokens * k / experts);

    private static long[] ExclusivePrefixSum(long[] counts)
    {
        var starts = new long[counts.Length];
        for (var i = 1; i < counts.Length; i++) starts[i] = starts[i - 1] + counts[i - 1];
        return starts;
    }

    internal static void Check(Tensor x, Tensor experts, Tensor weights, ExpertWeights expertWeights, long? capacity)
    {
        if (x.dim() != 2) throw new ArgumentException($"tokens must be [N, D], got [{string.Join(", ", x.shape)}]");
        if (experts.dim() != 2 || experts.shape[0] != x.shape[0] || experts.dtype != ScalarType.Int64)
            throw new ArgumentException($"expert ids must be int64 [N = {x.shape[0]}, k], got {experts.dtype} [{string.Join(", ", experts.shape)}]");
        if (!weights.shape.SequenceEqual(experts.shape))
            throw new ArgumentException($"combine weights [{string.Join(", ", weights.shape)}] must match expert ids [{string.Join(", ", experts.shape)}]");
        if (capacity is < 0) throw new ArgumentException($"capacity {capacity} must be non-negative");
    }
}
