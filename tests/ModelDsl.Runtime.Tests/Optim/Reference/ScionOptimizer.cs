using ModelDsl.Runtime.Parameters;
using static TorchSharp.torch;
using ModelDsl.Runtime.Optim;

namespace ModelDsl.Runtime.Tests.Optim.Reference;

/// <summary>
/// The per-parameter implementation as it was before the batched one replaced it: the naive twin that
/// the fast optimizer must match (and whose saved state it must load; the type names agree on purpose).
/// Scion (Pethick et al. 2025): momentum B = mu B + (1-mu) G on every parameter; hidden matrices move
/// along NS(B) sqrt(max(1, out/in)) (the spectral-norm LMO), everything else along sign(B) at
/// SignumLrRatio x LR (the max-norm LMO). Clipping, when configured, covers all parameters.
/// </summary>
public sealed class ScionOptimizer(Core.Training.Scion spec, IReadOnlyList<NamedParameter> parameters, double? clipGradNorm)
    : OptimizerBase(spec.Lr, spec.WeightDecay, clipGradNorm, parameters.Select(p => MuonOptimizer.IsMatrix(p)
        ? new ParameterSlot(p, "spectral", 1.0, p.Role.Decayed(), clipped: true)
        : new ParameterSlot(p, "signum", spec.SignumLrRatio, p.Role.Decayed(), clipped: true)))
{
    protected override Tensor Direction(ParameterSlot slot, Tensor gradient, long t)
    {
        var buffer = slot.StateOr("momentum", () => zeros_like(slot.Parameter));
        buffer.mul_(spec.Momentum).add_(gradient, alpha: 1 - spec.Momentum);
        return slot.Group == "signum"
            ? buffer.sign()
            : NewtonSchulz.OrthogonalizeBlocks(buffer, slot.RowBlocks, spec.NewtonSchulzSteps);
    }
}
