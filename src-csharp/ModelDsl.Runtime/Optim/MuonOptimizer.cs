using ModelDsl.Runtime.Parameters;
using TorchSharp;
using static TorchSharp.torch;
using ModelDsl.Runtime.Variants;
using static ModelDsl.Runtime.Layers.HeldScalars;

namespace ModelDsl.Runtime.Optim;

/// <summary>
/// Muon (Jordan et al. 2024) on hidden matrices (role HiddenMatrix, at least 2-D; leading dimensions
/// of stacked experts are a batch): B = mu B + G; U = nesterov ? mu B + G : B;
/// u = NS(U) sqrt(max(1, out/in)), per row block of a fused weight (q, k, v of a fused projection). Embeddings, the head, norms and biases take AdamW at
/// AdamLrRatio x LR. Only the AdamW group is clipped: the orthogonalised update ignores the
/// gradient's scale, and the reference code clips the AdamW parameters alone.
/// All matrices of a step are orthogonalised together before the per-parameter updates (same-shaped
/// matrices as one batch, <see cref="BatchedNewtonSchulz"/>); directions do not depend on other weights,
/// so the order is immaterial.
/// </summary>
[Implements(typeof(Core.Training.Muon))]
public sealed class MuonOptimizer(Core.Training.Muon spec, IReadOnlyList<NamedParameter> parameters, double? clipGradNorm)
    : OptimizerBase(spec.Lr, spec.WeightDecay, clipGradNorm, parameters.Select(p => IsMatrix(p)
        ? new ParameterSlot(p, "muon", 1.0, p.Role.Decayed(), clipped: false)
        : new ParameterSlot(p, "adamW", spec.AdamLrRatio, p.Role.Decayed(), clipped: true)))
{
    private readonly MatrixDirections matrixDirections = new();
    private readonly Scalar momentum = spec.Momentum;
    private readonly AdamMoments adam = new(spec.AdamBeta1, spec.AdamBeta2, spec.AdamEps);

    /// <summary>Orthogonalised: parameters in the matrix group of <see cref="ParameterRoles"/> with at least 2 dimensions.</summary>
    public static bool IsMatrix(NamedParameter p) => p.Role.MatrixGroup() && p.Parameter.dim() >= 2;

    protected override void BeforeUpdate(StepContext context) =>
        matrixDirections.Compute(Slots, "muon", spec.NewtonSchulzSteps, (slot, gradient) =>
        {
            var buffer = slot.StateOr("momentum", () => zeros_like(slot.Parameter));
            buffer.mul_(momentum).add_(gradient, One);
            return spec.Nesterov ? gradient.add(buffer.mul(momentum), One) : buffer;
        });

    protected override Tensor Direction(ParameterSlot slot, Tensor gradient, long t)
    {
        if (slot.Group == "adamW")
        {
            var m = adam.UpdateFirst(slot, gradient);
            var v = adam.UpdateSecond(slot, gradient);
            return adam.Direction(m, v, t);
        }
        return matrixDirections.Take(slot);
    }
}
