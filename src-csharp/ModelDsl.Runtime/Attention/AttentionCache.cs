using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Attention;

/// <summary>
/// One attention layer's keys and values for positions already seen, preallocated to a fixed
/// capacity: [batch, kvHeads, capacity, headDim]. Keys are stored after RoPE and before the
/// grouped-query repeat, so decoding a token costs one projection per new token, not per position.
/// The tensors are owned by this object (outside every dispose scope) until it is disposed.
/// </summary>
public sealed class AttentionCache : LayerCache
{
    private readonly Tensor keys;
    private readonly Tensor values;

    public AttentionCache(long batch, long kvHeads, long capacity, long headDim, ScalarType dtype, Device device)
    {
        keys = torch.zeros([batch, kvHeads, capacity, headDim], dtype: dtype, device: device).DetachFromDisposeScope();
        values = torch.zeros([batch, kvHeads, capacity, headDim], dtype: dtype, device: device).DetachFromDisposeScope();
        Capacity = capacity;
    }

    public override long Capacity { get; }

    /// <summary>Writes the new keys/values [B, kvHeads, T, D] at positions start .. start+T-1 and
    /// returns views of everything cached so far, positions 0 .. start+T-1.</summary>
    public (Tensor Keys, Tensor Values) Append(Tensor newKeys, Tensor newValues, long start)
    {
        var length = newKeys.shape[2];
        if (start + length > Capacity)
            throw new InvalidOperationException($"the KV cache holds {Capacity} positions; positions {start}..{start + length - 1} do not fit (create the cache with a larger capacity)");
        if (newKeys.shape[0] != keys.shape[0])
            throw new ArgumentException($"the KV cache was made for batch {keys.shape[0]}, got batch {newKeys.shape[0]}");
        using (torch.no_grad())
        {
            keys.narrow(2, start, length).copy_(newKeys);
            values.narrow(2, start, length).copy_(newValues);
        }
        return (keys.narrow(2, 0, start + length), values.narrow(2, 0, start + length));
    }

    public override void Dispose()
    {
        keys.Dispose();
        values.Dispose();
    }
}
