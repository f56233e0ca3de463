using TorchSharp;
using static ModelDsl.Runtime.Layers.HeldScalars;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Kernels;

/// <summary>
/// Mixture-of-experts dispatch and combine without per-token loops: the N*k token slots are sorted
/// by expert (stable, so within an expert they stay in token order), the tokens gathered with one
/// gather into per-expert contiguous segments, each expert runs one batched SwiGLU on its segment,
/// the results are gathered back into slot order and summed per token with their weights. Both
/// gathers have gathers as their backward (<see cref="MoeSlotGathers"/>): no serial index_add.
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
    /// <param name="batching">how the experts' matmuls are issued (<see cref="ExpertBatching"/>); both are exact</param>
    public static DispatchResult Forward(Tensor x, Tensor experts, Tensor weights, ExpertWeights expertWeights, long? capacity = null,
        ExpertBatching batching = ExpertBatching.Auto)
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
        var rowExperts = sortedExperts;
        long dropped = 0;
        if (capacity is { } limit)
        {
            var starts = ExclusivePrefixSum(counts);
            var positionInExpert = arange(order.shape[0], ScalarType.Int64, x.device)
                - tensor(starts, ScalarType.Int64, x.device).index_select(0, sortedExperts);
            using var heldLimit = limit.ToScalar(); // held through the call (see HeldScalars)
            var keepSorted = positionInExpert.lt(heldLimit);
            keptSlots = keptSlots.index_put_(keepSorted, order);
            order = order.masked_select(keepSorted);
            rowExperts = sortedExperts.masked_select(keepSorted);
            dropped = counts.Sum(c => Math.Max(0, c - limit));
            counts = counts.Select(c => Math.Min(c, limit)).ToArray();
        }

        var combined = zeros_like(x);
        var kept = order.shape[0];
        if (kept > 0)
        {
            var rows = Rows(order, rowExperts, counts, k, x.shape[0], batching, x.device);
            var gathered = MoeSlotGathers.Dispatch(x, rows.TokenOfRow, rows.RowOfSlot, rows.HasPadding, dropped > 0);
            var expertRows = rows.Batched ? PaddedExperts(gathered, expertWeights, rows.Capacity) : ExpertByExpert(gathered, expertWeights, counts);
            // Back in slot order, [N, k, D], each slot times its weight, summed over the k choices.
            var perSlot = MoeSlotGathers.Combine(expertRows, rows.RowOfSlot, rows.SlotOfRow, rows.HasPadding, dropped > 0)
                .view(x.shape[0], k, x.shape[1]);
            combined = (perSlot * weights.unsqueeze(-1)).sum(1);
        }
        return new DispatchResult(combined.MoveToOuterDisposeScope(), dropped, keptSlots.reshape(experts.shape).MoveToOuterDisposeScope());
    }

    /// <summary>Where each kept slot sits among the expert rows (see <see cref="MoeSlotGathers"/> for the maps).
    /// Padded: expert e's rows are e*C .. e*C+C-1, its slots first (in token order), then zero padding.</summary>
    private sealed record RowLayout(Tensor TokenOfRow, Tensor RowOfSlot, Tensor SlotOfRow, bool Batched, bool HasPadding, long Capacity);

    private static RowLayout Rows(Tensor order, Tensor rowExperts, long[] counts, long k, long tokens, ExpertBatching batching, Device device)
    {
        var (kept, slots, experts) = (order.shape[0], tokens * k, (long)counts.Length);
        var longest = counts.Max();
        // Padding to the longest segment computes E * longest - kept wasted rows. On 2 CPU threads
        // (MoeBench --profile, 5% padding) the batched matmuls ran about twice as fast as the
        // per-expert loop on a heavily loaded host, but about 10% slower on an idle one; padding is
        // taken until it doubles the rows (a heuristic, not a tuned bound).
        var padded = batching switch
        {
            ExpertBatching.Padded => true,
            ExpertBatching.PerExpert => false,
            _ => experts * longest <= 2 * kept,
        };
        long rowCount;
        Tensor rowOfKept;
        if (padded)
        {
            var starts = ExclusivePrefixSum(counts);
            var shift = Enumerable.Range(0, counts.Length).Select(e => e * longest - starts[e]).ToArray();
            rowCount = experts * longest;
            rowOfKept = arange(kept, ScalarType.Int64, device).add(tensor(shift, ScalarType.Int64, device).index_select(0, rowExperts), One);
        }
        else
        {
            rowCount = kept;
            rowOfKept = arange(kept, ScalarType.Int64, device);
        }
        using var slotsPerToken = k.ToScalar();
        var tokenOfRow = full(rowCount, tokens, ScalarType.Int64, device).scatter_(0, rowOfKept, order.div(slotsPerToken, rounding_mode: RoundingMode.floor));
        var slotOfRow = full(rowCount, slots, ScalarType.Int64, device).scatter_(0, rowOfKept, order);
        var rowOfSlot = full(slots, rowCount, ScalarType.Int64, device).scatter_(0, order, rowOfKept);
        return new RowLayout(tokenOfRow, rowOfSlot, slotOfRow, padded, rowCount > kept, longest);
    }

    /// <summary>All experts in two batched matmuls over [E, C, D] (zero rows stay zero: SwiGLU maps 0 to 0).</summary>
    private static Tensor PaddedExperts(Tensor gathered, ExpertWeights weights, long capacity)
    {
        var width = gathered.shape[1];
        var halves = gathered.view(weights.Experts, capacity, width).bmm(weights.GateUp.transpose(1, 2)).chunk(2, -1);
        return (nn.functional.silu(halves[0]) * halves[1]).bmm(weights.Down.transpose(1, 2)).view(-1, width);
    }

    /// <summary>One SwiGLU per expert on its segment of the rows.</summary>
    private static Tensor ExpertByExpert(Tensor gathered, ExpertWeights weights, long[] counts)
    {
        // split/unbind rather than narrow/select per expert: their backward is one cat/stack instead
        // of one full-size zero gradient per expert.
        var segments = gathered.split(counts, 0);
        var gateUps = weights.GateUp.unbind(0);
        var downs = weights.Down.unbind(0);
        var outputs = new List<Tensor>();
        for (var e = 0; e < counts.Length; e++)
        {
            if (counts[e] == 0) continue;
            var halves = segments[e].matmul(gateUps[e].t()).chunk(2, -1);
            outputs.Add((nn.functional.silu(halves[0]) * halves[1]).matmul(downs[e].t()));
        }
        return cat(outputs, 0);
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

/// <summary>How <see cref="MoeDispatch"/> issues the experts' matmuls.</summary>
public enum ExpertBatching
{
    /// <summary>Padded when padding at most doubles the rows, else expert by expert.</summary>
    Auto,
    /// <summary>Each expert's segment padded with zero rows to the longest segment; one batched matmul per projection.</summary>
    Padded,
    /// <summary>One matmul per expert and projection on its own segment.</summary>
    PerExpert,
}
