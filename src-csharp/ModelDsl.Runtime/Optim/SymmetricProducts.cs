using static TorchSharp.torch;

namespace ModelDsl.Runtime.Optim;

/// <summary>
/// Y Y^T computed as a symmetric matrix (torch exposes no syrk): the rows of Y are cut into blocks of
/// <see cref="BlockSize"/>, only the blocks on and above the diagonal are multiplied, and the ones
/// below are their transposes. With s blocks that is s(s+1)/2 of the s^2 block products (3/4 for two
/// blocks, about half for many). Leading dimensions are a batch; Y with at most BlockSize rows takes
/// the plain product.
/// </summary>
public static class SymmetricProducts
{
    public const int BlockSize = 256;

    /// <summary>Y Y^T for Y [..., m, k].</summary>
    public static Tensor Gram(Tensor y, int blockSize = BlockSize)
    {
        var m = y.shape[^2];
        if (m <= blockSize) return y.matmul(y.transpose(-2, -1));
        var shape = y.shape.ToArray();
        shape[^1] = m;
        var result = empty(shape, dtype: y.dtype, device: y.device);
        for (var i = 0L; i < m; i += blockSize)
        {
            var rows = Math.Min(blockSize, m - i);
            using var left = y.narrow(-2, i, rows);
            for (var j = i; j < m; j += blockSize)
            {
                var cols = Math.Min(blockSize, m - j);
                using var right = y.narrow(-2, j, cols);
                using var block = left.matmul(right.transpose(-2, -1));
                using (var upper = result.narrow(-2, i, rows).narrow(-1, j, cols)) upper.copy_(block);
                if (j == i) continue;
                using var lower = result.narrow(-2, j, cols).narrow(-1, i, rows);
                lower.copy_(block.transpose(-2, -1));
            }
        }
        return result;
    }
}
