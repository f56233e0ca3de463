using ModelDsl.Runtime.Layers;
using TorchSharp;
using static ModelDsl.Runtime.Layers.HeldScalars;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Optim;

/// <summary>
/// Muon's matrix update (<see cref="NewtonSchulz.OrthogonalizeBlocks"/>) for many weights at once:
/// every row block of every weight (each expert of a stacked weight too) is one matrix; matrices of
/// the same shape after the transposition that makes rows &lt;= cols are stacked and iterated as one
/// batch, so a step runs one chain of batched products per shape instead of one per matrix. The
/// arithmetic is NewtonSchulz's term for term (the per-matrix form stays as the reference twin); only
/// the batched products, the stacked (transposed, copied) layout and the symmetric products
/// (A = X X^T and A^2 = A A^T by <see cref="SymmetricProducts"/>, a quarter fewer flops at 512 rows)
/// may round differently.
/// </summary>
public static class BatchedNewtonSchulz
{
    private const double A = 3.4445, B = -4.7750, C = 2.0315;

    /// <summary>One weight's update and its row blocks (null: one matrix).</summary>
    public readonly record struct Item(Tensor Update, IReadOnlyList<long>? RowBlocks);

    /// <summary>A matrix of some item: its view in the update, whether it is iterated transposed, and where it lands in its group's stack.</summary>
    private sealed record Piece(int ItemIndex, long RowOffset, long[] BlockShape, bool Transposed, long Count);

    /// <summary>NS(U) sqrt(max(1, out/in)) per row block of every item, in the items' order and shapes.</summary>
    public static Tensor[] OrthogonalizeBlocks(IReadOnlyList<Item> items, int steps)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "must be at least 1");
        var results = new Tensor[items.Count];
        var groups = new Dictionary<(long Rows, long Cols, ScalarType Type, string Device), List<(Piece Piece, Tensor View)>>();
        for (var i = 0; i < items.Count; i++)
        {
            var (update, rowBlocks) = items[i];
            if (update.dim() < 2) throw new ArgumentException($"Newton-Schulz needs a matrix, got shape [{string.Join(", ", update.shape)}]");
            var rows = update.shape[^2];
            var blocks = rowBlocks is null || rowBlocks.Count <= 1 ? [rows] : rowBlocks.ToArray();
            if (blocks.Sum() != rows)
                throw new ArgumentException($"row blocks [{string.Join(", ", blocks)}] do not add up to the {rows} rows of the weight");
            results[i] = empty_like(update);
            var offset = 0L;
            foreach (var blockRows in blocks)
            {
                var block = update.narrow(-2, offset, blockRows);
                var cols = update.shape[^1];
                var transposed = blockRows > cols;
                var matrices = block.reshape(-1, blockRows, cols);
                var view = transposed ? matrices.transpose(-2, -1) : matrices;
                var key = (view.shape[1], view.shape[2], update.dtype, update.device.ToString());
                if (!groups.TryGetValue(key, out var members)) groups[key] = members = [];
                members.Add((new Piece(i, offset, block.shape, transposed, matrices.shape[0]), view));
                offset += blockRows;
            }
        }
        foreach (var members in groups.Values)
        {
            using var scope = NewDisposeScope();
            var x = Iterate(cat(members.Select(m => m.View).ToList(), 0), steps);
            var start = 0L;
            foreach (var (piece, _) in members)
            {
                var orthogonal = x.narrow(0, start, piece.Count);
                if (piece.Transposed) orthogonal = orthogonal.transpose(-2, -1);
                var target = results[piece.ItemIndex].narrow(-2, piece.RowOffset, piece.BlockShape[^2]);
                target.copy_(orthogonal.reshape(piece.BlockShape));
                var scale = NewtonSchulz.AspectScale(piece.BlockShape);
                if (scale != 1.0)
                {
                    using var held = scale.ToScalar();
                    target.mul_(held);
                }
                start += piece.Count;
            }
        }
        return results;
    }

    /// <summary>The NS iteration on a stack [n, rows, cols] with rows &lt;= cols (never written to: it may alias an input);
    /// releases each step's temporaries as it goes. Each term is rounded as in the per-matrix form (b A, c A^2, a X
    /// and P X separately, then summed), so the two agree wherever the batched and single products do.</summary>
    private static Tensor Iterate(Tensor stack, int steps)
    {
        using var norms = stack.Squared().sum([-2, -1], keepdim: true).sqrt_().add_(NormEps, One);
        var x = stack / norms;
        for (var i = 0; i < steps; i++)
        {
            using var gram = SymmetricProducts.Gram(x);
            using var square = x.shape[1] <= SymmetricProducts.BlockSize ? gram.bmm(gram) : SymmetricProducts.Gram(gram);
            using var polynomial = square.mul_(ScalarC);
            using (var linear = gram.mul(ScalarB)) polynomial.add_(linear, One);
            var next = polynomial.bmm(x);
            using (var scaled = x.mul(ScalarA)) next.add_(scaled, One);
            x.Dispose();
            x = next;
        }
        return x;
    }

    private static readonly Scalar ScalarA = A, ScalarB = B, ScalarC = C, NormEps = 1e-7;
}
