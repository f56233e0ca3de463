using TorchSharp;
using static ModelDsl.Runtime.Layers.HeldScalars;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Kernels;

/// <summary>
/// PaTH attention (Yang et al. 2025, arXiv 2505.16381, §2), plain and obviously correct: the score
/// of query i with key j is s_ij = q_i^T H_i H_(i-1) ... H_(j+1) k_j with H_t = I - beta_t w_t w_t^T.
/// Token by token, every key seen so far is hit by the new token's transition (k &lt;- k - beta (k·w) w)
/// and the new key joins untransformed; the query then scores against those keys. Time O(T^2 d),
/// memory O(T^2) for the scores (and O(T^2 d) under autograd): a reference and the decoding rule,
/// not the training path (<see cref="PathAttentionBlockwise"/>).
/// Shapes: q [B, H, T, D]; k, v, w [B, KvHeads, T, D]; beta [B, KvHeads, T]; the forget-gate
/// log-values g [B, H, T] (PaTH-FoX) or null. Query head h reads KV head h / (H / KvHeads).
/// </summary>
public static class PathAttentionNaive
{
    /// <summary>softmax(scale * (s_ij + G_i - G_j)) V over j &lt;= i, G the cumulative sum of g.</summary>
    public static Tensor Forward(Tensor q, Tensor k, Tensor v, Tensor w, Tensor beta, Tensor? logForget, double scale)
    {
        using var scope = NewDisposeScope();
        var probabilities = Probabilities(q, k, w, beta, logForget, scale);
        return WeightedValues(probabilities, v).MoveToOuterDisposeScope();
    }

    /// <summary>The attention probabilities [B, H, T, T] (zero above the diagonal).</summary>
    public static Tensor Probabilities(Tensor q, Tensor k, Tensor w, Tensor beta, Tensor? logForget, double scale)
    {
        PathShapes.Check(q, k, k, w, beta, logForget);
        using var scope = NewDisposeScope();
        var noKeys = k.new_zeros(k.shape[0], k.shape[1], 0, k.shape[3]);
        var (logits, _) = TransformedLogits(q, noKeys, k, w, beta);
        var gateSums = logForget?.cumsum(-1);
        return ToProbabilities(logits, gateSums, scale).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Continues the recurrence from keys already transformed by every transition up to position
    /// start-1 (priorKeys [B, KvHeads, start, D]) with T new tokens at positions start .. start+T-1.
    /// Returns the raw scores q_i^T H_i ... H_(j+1) k_j [B, H, T, start+T] (-inf after the query's
    /// own position) and all keys transformed up to position start+T-1 [B, KvHeads, start+T, D].
    /// </summary>
    public static (Tensor Logits, Tensor Keys) TransformedLogits(Tensor q, Tensor priorKeys, Tensor k, Tensor w, Tensor beta)
    {
        var (batch, heads, length, headDim) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3]);
        var kvHeads = k.shape[1];
        var start = priorKeys.shape[2];
        var total = start + length;
        using var scope = NewDisposeScope();
        var keys = priorKeys;
        var rows = new Tensor[length];
        for (long t = 0; t < length; t++)
        {
            var direction = w.select(2, t).unsqueeze(2);                 // [B, KvHeads, 1, D]
            var strength = beta.select(2, t).unsqueeze(-1).unsqueeze(-1); // [B, KvHeads, 1, 1]
            if (keys.shape[2] > 0)
                keys = keys - strength * keys.matmul(direction.transpose(-1, -2)) * direction;
            keys = torch.cat([keys, k.narrow(2, t, 1)], 2);
            var query = q.select(2, t).reshape(batch, kvHeads, heads / kvHeads, headDim);
            var row = query.matmul(keys.transpose(-1, -2)).reshape(batch, heads, keys.shape[2]);
            var future = total - keys.shape[2];
            rows[t] = future == 0 ? row : torch.cat([row, row.new_full([batch, heads, future], double.NegativeInfinity)], -1);
        }
        var logits = torch.stack(rows, 2);
        return (logits.MoveToOuterDisposeScope(), keys.MoveToOuterDisposeScope());
    }

    /// <summary>softmax(scale * (logits + G_i - G_j)) where gateSums [B, H, S] are the cumulative
    /// forget-gate sums of all key positions (the queries are the last T of them), or null.</summary>
    public static Tensor ToProbabilities(Tensor logits, Tensor? gateSums, double scale)
    {
        using var scope = NewDisposeScope();
        if (gateSums is not null)
        {
            var queries = logits.shape[2];
            var queryGates = gateSums.narrow(-1, gateSums.shape[^1] - queries, queries);
            logits = logits.add(queryGates.unsqueeze(-1), One) - gateSums.unsqueeze(-2);
        }
        using var heldScale = scale.ToScalar();
        return logits.mul(heldScale).softmax(-1).MoveToOuterDisposeScope();
    }

    /// <summary>probabilities [B, H, T, S] times values [B, KvHeads, S, D], each KV head serving H / KvHeads query heads.</summary>
    public static Tensor WeightedValues(Tensor probabilities, Tensor v)
    {
        var groups = probabilities.shape[1] / v.shape[1];
        var values = groups == 1 ? v : v.repeat_interleave(groups, dim: 1);
        return probabilities.matmul(values);
    }
}

/// <summary>Shape checks shared by the PaTH kernels, with messages that say which tensor is wrong.</summary>
internal static class PathShapes
{
    public static void Check(Tensor q, Tensor k, Tensor v, Tensor w, Tensor beta, Tensor? logForget)
    {
        if (q.dim() != 4 || k.dim() != 4 || v.dim() != 4 || w.dim() != 4 || beta.dim() != 3)
            throw new ArgumentException($"PaTH attention expects q, k, v, w [batch, heads, length, headDim] and beta [batch, kvHeads, length], got q {Show(q)}, k {Show(k)}, v {Show(v)}, w {Show(w)}, beta {Show(beta)}");
        var (batch, heads, length, headDim) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3]);
        var kvHeads = k.shape[1];
        long[] kvShape = [batch, kvHeads, length, headDim];
        if (!k.shape.SequenceEqual(kvShape) || !v.shape.SequenceEqual(kvShape) || !w.shape.SequenceEqual(kvShape))
            throw new ArgumentException($"PaTH attention: k, v and w must all be [{string.Join(", ", kvShape)}] to match q {Show(q)}; got k {Show(k)}, v {Show(v)}, w {Show(w)}");
        if (heads % kvHeads != 0)
            throw new ArgumentException($"PaTH attention: kvHeads {kvHeads} does not divide heads {heads}");
        if (!beta.shape.SequenceEqual(kvShape[..3]))
            throw new ArgumentException($"PaTH attention: beta must be [{batch}, {kvHeads}, {length}] (one per key/value head and token), got {Show(beta)}");
        if (logForget is not null && !logForget.shape.SequenceEqual(new[] { batch, heads, length }))
            throw new ArgumentException($"PaTH attention: the forget gate must be [{batch}, {heads}, {length}] (one per query head and token), got {Show(logForget)}");
    }

    private static string Show(Tensor t) => "[" + string.Join(", ", t.shape) + "]";
}
