using static TorchSharp.torch;

namespace ModelDsl.Runtime.Kernels;

/// <summary>
/// Reference for <see cref="MoeDispatch"/>: one token at a time, one choice at a time, admitting
/// slots to an expert until its capacity is used up, in token order then choice rank. Slow and plain.
/// </summary>
public static class MoeDispatchNaive
{
    public static DispatchResult Forward(Tensor x, Tensor experts, Tensor weights, ExpertWeights expertWeights, long? capacity = null)
    {
        MoeDispatch.Check(x, experts, weights, expertWeights, capacity);
        var tokens = x.shape[0];
        var k = experts.shape[1];
        var ids = experts.cpu().data<long>().ToArray();
        var used = new long[expertWeights.Experts];
        var kept = new bool[ids.Length];
        long dropped = 0;
        var rows = new List<Tensor>();
        for (var n = 0; n < tokens; n++)
        {
            Tensor row = zeros_like(x[n]);
            for (var j = 0; j < k; j++)
            {
                var e = ids[n * k + j];
                if (capacity is { } limit && used[e] >= limit) { dropped++; continue; }
                used[e]++;
                kept[n * k + j] = true;
                row = row + weights[n, j] * expertWeights.Apply(e, x[n].unsqueeze(0))[0];
            }
            rows.Add(row);
        }
        return new DispatchResult(stack(rows, 0), dropped, tensor(kept, [tokens, k]));
    }
}
