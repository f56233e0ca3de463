using ModelDsl.Runtime.Parameters;
using static TorchSharp.torch;
using ModelDsl.Runtime.Optim;

namespace ModelDsl.Runtime.Tests.Optim.Reference;

/// <summary>
/// The per-parameter implementation as it was before the batched one replaced it: the naive twin that
/// the fast optimizer must match (and whose saved state it must load; the type names agree on purpose).
/// Muon (Jordan et al. 2024) on hidden matrices (role HiddenMatrix, at least 2-D; leading dimensions
/// of stacked experts are a batch): B = mu B + G; U = nesterov ? mu B + G : B;
/// u = NS(U) sqrt(max(1, out/in)), per row block of a fused weight (q, k, v of a fused projection). Embeddings, the head, norms and biases take AdamW at
/// AdamLrRatio x LR. Only the AdamW group is clipped: the orthogonalised update ignores the
/// gradient's scale, and the reference code clips the AdamW parameters alone.
/// </summary>
public sealed class MuonOptimizer(Core.Training.Muon spec, IReadOnlyList<NamedParameter> parameters, double? clipGradNorm)
    : OptimizerBase(spec.Lr, spec.WeightDecay, clipGradNorm, parameters.Select(p => IsMatrix(p)
        ? new ParameterSlot(p, "muon", 1.0, p.Role.Decayed(), clipped: false)
        : new ParameterSlot(p, "adamW", spec.AdamLrRatio, p.Role.Decayed(), clipped: true)))
{
    private readonly AdamMoments adam = new(spec.AdamBeta1, spec.AdamBeta2, spec.AdamEps);

    /// <summary>Orthogonalised: parameters in the matrix group of <see cref="ParameterRoles"/> with at least 2 dimensions.</summary>
    public static bool IsMatrix(NamedParameter p) => p.Role.MatrixGroup() && p.Parameter.dim() >= 2;

    protected override Tensor Direction(ParameterSlot slot, Tensor gradient, long t)
    {
        if (slot.Group == "adamW")
        {
            var m = adam.UpdateFirst(slot, gradient);
            var v = adam.UpdateSecond(slot, gradient);
            return adam.Direction(m, v, t);
        }
        var buffer = slot.StateOr("momentum", () => zeros_like(slot.Parameter));
        buffer.mul_(spec.Momentum).add_(gradient);
        var update = spec.Nesterov ? gradient + buffer * spec.Momentum : buffer;
        return NewtonSchulz.OrthogonalizeBlocks(update, slot.RowBlocks, spec.NewtonSchulzSteps);
    }
}
