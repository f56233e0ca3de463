using ModelDsl.Runtime.Layers;
using static ModelDsl.Runtime.Layers.HeldScalars;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Optim;

/// <summary>The fp64 sum of squares of a gradient, the building block of every global gradient norm.</summary>
public static class GradientSquares
{
    /// <summary>Elements widened at a time: 4 MiB of fp64, reused across the chunks of a gradient (a few
    /// chunks per large matrix, so that the per-operation cost stays small against the memory traffic).</summary>
    public const long Chunk = 1 << 19;

    /// <summary>
    /// sum(g^2) with every square and the sum in fp64, as a 0-d fp64 tensor. A gradient of at most
    /// <see cref="Chunk"/> elements is widened whole (the value is exactly g.to(f64).square().sum());
    /// a larger one chunk by chunk through one cache-sized buffer, so that no fp64 copy of the whole
    /// gradient is made (the chunks' sums are added in order: the same value up to the order of the
    /// fp64 additions). An fp64 gradient is squared out of place and left unchanged.
    /// </summary>
    public static Tensor Sum(Tensor gradient)
    {
        if (gradient.dtype == ScalarType.Float64) return gradient.Squared().sum();
        var count = gradient.numel();
        if (count <= Chunk)
        {
            using var wide = gradient.to(ScalarType.Float64);
            return wide.mul_(wide).sum();
        }
        using var scope = NewDisposeScope();
        using var flat = gradient.reshape(-1);
        var buffer = empty(Chunk, ScalarType.Float64, gradient.device);
        var total = zeros([], ScalarType.Float64, gradient.device);
        for (long start = 0; start < count; start += Chunk)
        {
            var length = Math.Min(Chunk, count - start);
            using var part = buffer.narrow(0, 0, length);
            using var source = flat.narrow(0, start, length);
            part.copy_(source);
            part.mul_(part);
            using var partial = part.sum();
            total.add_(partial, One);
        }
        return total.MoveToOuterDisposeScope();
    }
}
