using static TorchSharp.torch;

namespace ModelDsl.Runtime.Eval;

/// <summary>
/// Normalised attention entropy (PAPERS.md §10, arXiv 2410.05459): for query row i with n_i
/// attendable keys, H(a_i) / log(n_i) with H(a) = -sum_j a_j log a_j (0 log 0 = 0). It is 1 for
/// uniform attention and 0 for attention on a single key. A row with one attendable key (the first
/// position of a causal sequence) has no choice to make and 0/0 entropy: it is excluded (NaN in
/// <see cref="PerRow"/>, left out of every mean).
/// </summary>
public static class AttentionEntropy
{
    /// <summary>
    /// Normalised entropy of every row of causal attention probabilities [B, H, T, S] whose queries
    /// sit at positions queryStart .. queryStart+T-1 (so row i has queryStart + i + 1 attendable
    /// keys); float64 [B, H, T], NaN where a row has a single attendable key.
    /// </summary>
    public static Tensor PerRow(Tensor probabilities, long queryStart = 0)
    {
        if (probabilities.dim() != 4)
            throw new ArgumentException($"attention probabilities must be [batch, heads, queries, keys], got {probabilities.dim()} dimensions");
        var (queries, keys) = (probabilities.shape[2], probabilities.shape[3]);
        if (queryStart < 0 || keys != queryStart + queries)
            throw new ArgumentException($"causal attention of {queries} queries from position {queryStart} has {queryStart + queries} keys, not {keys}");
        using var scope = NewDisposeScope();
        var p = probabilities.to(ScalarType.Float64);
        // p log p with 0 log 0 = 0: a clamped logarithm is multiplied by an exact zero.
        var entropy = -(p * p.clamp_min(1e-300).log()).sum(-1);
        var attendable = arange(queryStart + 1, queryStart + queries + 1, dtype: ScalarType.Float64, device: p.device);
        var normalised = entropy / attendable.log();
        return normalised.masked_fill(attendable.le(1).expand_as(normalised), double.NaN).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Mean normalised entropy per head, double[H], over the batch and the query rows selected by
    /// <paramref name="rows"/> ([B, T], nonzero = included; null = all rows), excluding rows with a
    /// single attendable key. A head with no included row gets NaN.
    /// </summary>
    public static double[] MeanPerHead(Tensor probabilities, long queryStart = 0, Tensor? rows = null)
    {
        using var scope = NewDisposeScope();
        var perRow = PerRow(probabilities, queryStart);
        var included = perRow.isnan().logical_not();
        if (rows is not null)
        {
            if (rows.dim() != 2 || rows.shape[0] != perRow.shape[0] || rows.shape[1] != perRow.shape[2])
                throw new ArgumentException($"row selection must be [{perRow.shape[0]}, {perRow.shape[2]}], got [{string.Join(", ", rows.shape)}]");
            included = included.logical_and(rows.to(perRow.device).ne(0).unsqueeze(1).expand_as(included));
        }
        var weights = included.to(ScalarType.Float64);
        var sums = (perRow.nan_to_num(0.0) * weights).sum([0, 2]);
        var counts = weights.sum([0, 2]);
        return (sums / counts).data<double>().ToArray();
    }
}
