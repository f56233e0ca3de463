using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Attention;

/// <summary>
/// What a PaTH attention layer remembers for decoding (arXiv 2505.16381, §3.3): the keys of every
/// position seen so far, already carried through all later transitions (each new token updates
/// them, k &lt;- k - beta (k·w) w, and joins untransformed), the values, the cumulative forget-gate
/// sums G (PaTH-FoX), and the last kernel-1 inputs of the short convolution that makes w.
/// Preallocated to a fixed capacity and owned by this object (outside every dispose scope).
/// </summary>
public sealed class PathCache : LayerCache
{
    private readonly Tensor keys;          // [B, KvHeads, capacity, D]
    private readonly Tensor values;        // [B, KvHeads, capacity, D]
    private readonly Tensor? gateSums;     // [B, H, capacity]
    private readonly Tensor? convolutionInputs; // [B, kernel-1, KvHeads * D]

    public PathCache(long batch, long heads, long kvHeads, long capacity, long headDim, int convolutionKernel, bool forgetGate,
        ScalarType dtype, Device device)
    {
        if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "a PaTH cache must hold at least one position");
        keys = torch.zeros([batch, kvHeads, capacity, headDim], dtype: dtype, device: device).DetachFromDisposeScope();
        values = torch.zeros([batch, kvHeads, capacity, headDim], dtype: dtype, device: device).DetachFromDisposeScope();
        if (forgetGate)
            gateSums = torch.zeros([batch, heads, capacity], dtype: dtype, device: device).DetachFromDisposeScope();
        if (convolutionKernel > 1)
            convolutionInputs = torch.zeros([batch, convolutionKernel - 1, kvHeads * headDim], dtype: dtype, device: device).DetachFromDisposeScope();
        Capacity = capacity;
    }

    public override long Capacity { get; }

    /// <summary>Cached keys of positions 0 .. start-1, carried through the transitions up to start-1.</summary>
    public Tensor Keys(long start) => keys.narrow(2, 0, start);

    /// <summary>The forget-gate sum G at position start-1 ([B, H, 1]; zero before the first token), or null without a gate.</summary>
    public Tensor? GateSumBefore(long start) =>
        gateSums is null ? null : start == 0 ? gateSums.narrow(2, 0, 1).zeros_like() : gateSums.narrow(2, start - 1, 1);

    /// <summary>The short-convolution inputs of the kernel-1 positions before the new ones (zeros before
    /// position 0, matching the causal zero padding of a full pass), or null without a convolution.</summary>
    public Tensor? ConvolutionInputs => convolutionInputs;

    /// <summary>
    /// Stores the state after positions start .. start+T-1: all keys transformed up to the last of
    /// them [B, KvHeads, start+T, D], the new values [B, KvHeads, T, D], the gate sums of the new
    /// positions [B, H, T] (or null) and the latest kernel-1 convolution inputs. Returns the
    /// values of positions 0 .. start+T-1 and the gate sums of those positions (or null).
    /// </summary>
    public (Tensor Values, Tensor? GateSums) Store(long start, Tensor allKeys, Tensor newValues, Tensor? newGateSums, Tensor? latestConvolutionInputs)
    {
        var length = newValues.shape[2];
        if (start + length > Capacity)
            throw new InvalidOperationException($"the PaTH cache holds {Capacity} positions; positions {start}..{start + length - 1} do not fit (create the cache with a larger capacity)");
        if (newValues.shape[0] != keys.shape[0])
            throw new ArgumentException($"the PaTH cache was made for batch {keys.shape[0]}, got batch {newValues.shape[0]}");
        using (torch.no_grad())
        {
            keys.narrow(2, 0, start + length).copy_(allKeys);
            values.narrow(2, start, length).copy_(newValues);
            if (gateSums is not null && newGateSums is not null)
                gateSums.narrow(2, start, length).copy_(newGateSums);
            if (convolutionInputs is not null && latestConvolutionInputs is not null)
                convolutionInputs.copy_(latestConvolutionInputs);
        }
        return (values.narrow(2, 0, start + length), gateSums?.narrow(2, 0, start + length));
    }

    public override void Dispose()
    {
        keys.Dispose();
        values.Dispose();
        gateSums?.Dispose();
        convolutionInputs?.Dispose();
    }
}
