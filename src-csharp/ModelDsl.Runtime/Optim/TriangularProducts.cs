using static TorchSharp.torch;

namespace ModelDsl.Runtime.Optim;

/// <summary>
/// Matrix products with an upper-triangular factor that skip its zero blocks (torch exposes no trmm):
/// the factor is cut into square blocks of <see cref="BlockSize"/> and only blocks on or above the
/// diagonal are multiplied. Exact zeros add nothing, so the results equal the dense products up to
/// the order of summation. U x dense costs half the dense product; U x U a sixth (both in the limit of
/// many blocks). Matrices of at most <see cref="DenseUpTo"/> rows use the dense product.
/// </summary>
public static class TriangularProducts
{
    public const int BlockSize = 256;
    public const int DenseUpTo = 2 * BlockSize;

    /// <summary>U X for upper-triangular U [n, n] and X [n, k].</summary>
    public static Tensor UpperTimes(Tensor upper, Tensor x, int blockSize = BlockSize, int denseUpTo = DenseUpTo)
    {
        var n = upper.shape[0];
        if (n <= denseUpTo) return upper.matmul(x);
        var result = empty(n, x.shape[1], dtype: x.dtype, device: x.device);
        for (var i = 0L; i < n; i += blockSize)
        {
            var rows = Math.Min(blockSize, n - i);
            using var target = result.narrow(0, i, rows);
            using var left = upper.narrow(0, i, rows).narrow(1, i, n - i);
            using var right = x.narrow(0, i, n - i);
            target.addmm_(left, right, beta: 0, alpha: 1);
        }
        return result;
    }

    /// <summary>U^T X for upper-triangular U [n, n] and X [n, k] (U^T is lower triangular: row block i needs X's first blocks only).</summary>
    public static Tensor UpperTransposedTimes(Tensor upper, Tensor x, int blockSize = BlockSize, int denseUpTo = DenseUpTo)
    {
        var n = upper.shape[0];
        if (n <= denseUpTo) return upper.t().matmul(x);
        var result = empty(n, x.shape[1], dtype: x.dtype, device: x.device);
        for (var i = 0L; i < n; i += blockSize)
        {
            var rows = Math.Min(blockSize, n - i);
            using var target = result.narrow(0, i, rows);
            using var left = upper.narrow(1, i, rows).narrow(0, 0, i + rows).t();
            using var right = x.narrow(0, 0, i + rows);
            target.addmm_(left, right, beta: 0, alpha: 1);
        }
        return result;
    }

    /// <summary>U V for upper-triangular U and V [n, n]: block (i, j), i &lt;= j, is sum over i &lt;= l &lt;= j of U_il V_lj; the result is upper triangular.</summary>
    public static Tensor UpperTimesUpper(Tensor u, Tensor v, int blockSize = BlockSize, int denseUpTo = DenseUpTo)
    {
        var n = u.shape[0];
        if (n <= denseUpTo) return u.matmul(v);
        var result = zeros(n, n, dtype: v.dtype, device: v.device);
        for (var i = 0L; i < n; i += blockSize)
        {
            var rows = Math.Min(blockSize, n - i);
            for (var j = i; j < n; j += blockSize)
            {
                var cols = Math.Min(blockSize, n - j);
                using var target = result.narrow(0, i, rows).narrow(1, j, cols);
                using var left = u.narrow(0, i, rows).narrow(1, i, j + cols - i);
                using var right = v.narrow(0, i, j + cols - i).narrow(1, j, cols);
                target.addmm_(left, right, beta: 0, alpha: 1);
            }
        }
        return result;
    }
}
