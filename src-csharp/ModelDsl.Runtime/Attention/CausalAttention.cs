using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Attention;

/// <summary>
/// Causal scaled dot-product attention softmax(Q K^T / sqrt(d) + M) V (Vaswani et al. 2017, eq. 1)
/// for queries at positions queryStart .. queryStart+T-1 and keys at positions 0 .. queryStart+T-1
/// (M = -inf where a key lies after the query). Two implementations: the fused SDPA kernel used by
/// the model, and a plain reference that tests compare it with.
/// Shapes: q [B, H, T, D], k and v [B, H, S, D] with S = queryStart + T; result [B, H, T, D].
/// </summary>
public static class CausalAttention
{
    /// <summary>libtorch's fused scaled_dot_product_attention.</summary>
    public static Tensor Sdpa(Tensor q, Tensor k, Tensor v, long queryStart = 0)
    {
        var (queries, keys) = CheckShapes(q, k, v, queryStart);
        // is_causal aligns the mask to the top-left corner, which is right only when queries and keys start together.
        if (queryStart == 0)
            return nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true);
        // A single newest query may look at every key.
        if (queries == 1)
            return nn.functional.scaled_dot_product_attention(q, k, v);
        using var mask = AllowedKeys(queries, keys, queryStart, q.device);
        return nn.functional.scaled_dot_product_attention(q, k, v, attn_mask: mask);
    }

    /// <summary>The textbook formula with an explicit mask; slow, obviously correct.</summary>
    public static Tensor Reference(Tensor q, Tensor k, Tensor v, long queryStart = 0)
    {
        CheckShapes(q, k, v, queryStart);
        using var scope = NewDisposeScope();
        return Probabilities(q, k, queryStart).matmul(v).MoveToOuterDisposeScope();
    }

    /// <summary>The attention probabilities softmax(Q K^T / sqrt(d) + M), [B, H, T, S]; row i is
    /// zero after key queryStart + i.</summary>
    public static Tensor Probabilities(Tensor q, Tensor k, long queryStart = 0)
    {
        var (queries, keys) = CheckShapes(q, k, k, queryStart);
        using var scope = NewDisposeScope();
        using var root = Math.Sqrt(q.shape[^1]).ToScalar();
        using var minusInfinity = double.NegativeInfinity.ToScalar();
        var scores = q.matmul(k.transpose(-2, -1)).div(root);
        var allowed = AllowedKeys(queries, keys, queryStart, q.device);
        var masked = scores.masked_fill(allowed.logical_not(), minusInfinity);
        return masked.softmax(-1).MoveToOuterDisposeScope();
    }

    /// <summary>Boolean [T, S], true where key position j &lt;= query position queryStart + i.</summary>
    public static Tensor AllowedKeys(long queries, long keys, long queryStart, Device device)
    {
        using var scope = NewDisposeScope();
        var queryPositions = torch.arange(queryStart, queryStart + queries, dtype: ScalarType.Int64, device: device).unsqueeze(1);
        var keyPositions = torch.arange(keys, dtype: ScalarType.Int64, device: device).unsqueeze(0);
        return keyPositions.le(queryPositions).MoveToOuterDisposeScope();
    }

    private static (long Queries, long Keys) CheckShapes(Tensor q, Tensor k, Tensor v, long queryStart)
    {
        if (q.dim() != 4 || k.dim() != 4 || v.dim() != 4)
            throw new ArgumentException($"attention expects 4-D [batch, heads, length, headDim] tensors, got q {Show(q)}, k {Show(k)}, v {Show(v)}");
        var queries = q.shape[2];
        var keys = k.shape[2];
        if (queryStart < 0 || keys != queryStart + queries)
            throw new ArgumentException($"causal attention needs one key per position up to the last query: {keys} keys for {queries} queries starting at position {queryStart}");
        return (queries, keys);
    }

    private static string Show(Tensor t) => "[" + string.Join(", ", t.shape) + "]";
}
