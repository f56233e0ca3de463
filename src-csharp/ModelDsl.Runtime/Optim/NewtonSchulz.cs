using ModelDsl.Runtime.Layers;
using TorchSharp;
using static ModelDsl.Runtime.Layers.HeldScalars;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Optim;

/// <summary>
/// Muon's quintic Newton-Schulz iteration (Jordan et al. 2024): X = U / (||U||_F + 1e-7), transposed
/// when rows &gt; cols so that X X^T is the small Gram matrix; then steps x (A = X X^T;
/// X = a X + (b A + c A^2) X) with (a, b, c) = (3.4445, -4.7750, 2.0315). The coefficients trade exact
/// convergence for speed: singular values end near, not at, 1. Leading dimensions are a batch.
/// </summary>
public static class NewtonSchulz
{
    private const double A = 3.4445, B = -4.7750, C = 2.0315;
    private static readonly Scalar ScalarA = A, ScalarB = B, ScalarC = C, NormEps = 1e-7;

    public static Tensor Orthogonalize(Tensor update, int steps)
    {
        if (update.dim() < 2) throw new ArgumentException($"Newton-Schulz needs a matrix, got shape [{string.Join(", ", update.shape)}]");
        using var scope = NewDisposeScope();
        var transposed = update.shape[^2] > update.shape[^1];
        var x = update / update.Squared().sum([-2, -1], keepdim: true).sqrt().add(NormEps, One);
        if (transposed) x = x.transpose(-2, -1);
        for (var i = 0; i < steps; i++)
        {
            var gram = x.matmul(x.transpose(-2, -1));
            var polynomial = gram.mul(ScalarB).add(gram.matmul(gram).mul(ScalarC), One);
            x = x.mul(ScalarA).add(polynomial.matmul(x), One);
        }
        if (transposed) x = x.transpose(-2, -1);
        return x.contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Muon's matrix update for a weight that may be fused: each row block (q, k, v of a fused qkv
    /// projection) is orthogonalised and aspect-scaled on its own, exactly as if the layers were
    /// separate; null blocks means one matrix.
    /// </summary>
    public static Tensor OrthogonalizeBlocks(Tensor update, IReadOnlyList<long>? rowBlocks, int steps)
    {
        if (rowBlocks is null || rowBlocks.Count <= 1)
        {
            using var scale = AspectScale(update.shape).ToScalar();
            return Orthogonalize(update, steps).mul(scale);
        }
        if (rowBlocks.Sum() != update.shape[^2])
            throw new ArgumentException($"row blocks [{string.Join(", ", rowBlocks)}] do not add up to the {update.shape[^2]} rows of the weight");
        using var scope = NewDisposeScope();
        var parts = update.split(rowBlocks.ToArray(), -2).Select(b =>
        {
            using var scale = AspectScale(b.shape).ToScalar();
            return Orthogonalize(b, steps).mul(scale);
        }).ToArray();
        return cat(parts, -2).MoveToOuterDisposeScope();
    }

    /// <summary>sqrt(max(1, out/in)) for a weight of shape [.., out, in]: keeps the update's RMS comparable across aspect ratios.</summary>
    public static double AspectScale(long[] shape) => Math.Sqrt(Math.Max(1.0, (double)shape[^2] / shape[^1]));
}
