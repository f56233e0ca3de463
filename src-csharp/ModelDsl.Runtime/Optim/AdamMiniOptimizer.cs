using ModelDsl.Runtime.Layers;
using ModelDsl.Runtime.Parameters;
using static TorchSharp.torch;
using ModelDsl.Runtime.Variants;
using TorchSharp;
using static ModelDsl.Runtime.Layers.HeldScalars;

namespace ModelDsl.Runtime.Optim;

/// <summary>
/// Adam-mini (Zhang et al. 2024): one second moment per block, v_b = b2 v_b + (1-b2) mean_b(g^2).
/// Blocks are rows of the matrix viewed as [rows, -1] (one output neuron, or one embedding row),
/// except the query and key rows of a fused attention projection, whose blocks are whole heads
/// (the heads its layer published, <see cref="NamedParameter.HeadBlocks"/>); norms and biases are one block each.
/// </summary>
[Implements(typeof(Core.Training.AdamMini))]
public sealed class AdamMiniOptimizer(Core.Training.AdamMini spec, IReadOnlyList<NamedParameter> parameters, double? clipGradNorm)
    : OptimizerBase(spec.Lr, spec.WeightDecay, clipGradNorm,
        parameters.Select(p => new ParameterSlot(p, "adamMini", 1.0, p.Role.Decayed(), clipped: true)))
{
    private readonly AdamMoments adam = new(spec.Beta1, spec.Beta2, spec.Eps);
    private readonly Scalar decay2 = spec.Beta2, weight2 = 1 - spec.Beta2, eps = spec.Eps;

    protected override Tensor Direction(ParameterSlot slot, Tensor gradient, long t)
    {
        var m = adam.UpdateFirst(slot, gradient);
        var blockMeans = BlockMeanSquares(slot, gradient);
        var v = slot.StateOr("blockV", () => zeros_like(blockMeans));
        v.mul_(decay2).add_(blockMeans, weight2);
        using var firstCorrection = (1 - Math.Pow(spec.Beta1, t)).ToScalar();
        using var secondCorrection = (1 - Math.Pow(spec.Beta2, t)).ToScalar();
        var vHat = ExpandBlocks(slot, v).div(secondCorrection).reshape(gradient.shape);
        return m.div(firstCorrection).div(vHat.sqrt().add(eps, One));
    }

    /// <summary>Mean of g^2 per block, as a vector with one entry per block.</summary>
    private Tensor BlockMeanSquares(ParameterSlot slot, Tensor gradient)
    {
        if (gradient.dim() < 2) return gradient.Squared().mean().reshape(1);
        var rows = gradient.Squared().reshape(gradient.shape[0], -1).mean([1]);
        if (slot.HeadBlocks is not { } headRows) return rows;
        // Query and key rows (the first headRows.Count * headDim rows) are averaged per head.
        var headCount = headRows.Heads;
        var perHead = rows[..(int)(headCount * headRows.HeadDim)].reshape(headCount, headRows.HeadDim).mean([1]);
        return cat([perHead, rows[(int)(headCount * headRows.HeadDim)..]]);
    }

    /// <summary>Per-block values spread back to one value per element.</summary>
    private Tensor ExpandBlocks(ParameterSlot slot, Tensor perBlock)
    {
        var shape = slot.Parameter.shape;
        if (shape.Length < 2) return perBlock.expand(shape);
        var columns = shape.Skip(1).Aggregate(1L, (a, b) => a * b);
        Tensor perRow = perBlock;
        if (slot.HeadBlocks is { } headRows)
        {
            var headPart = perBlock[..(int)headRows.Heads].repeat_interleave(headRows.HeadDim);
            perRow = cat([headPart, perBlock[(int)headRows.Heads..]]);
        }
        return perRow.reshape(-1, 1).expand(shape[0], columns);
    }
}
