using ModelDsl.Runtime.Parameters;
using TorchSharp;
using static TorchSharp.torch;
using ModelDsl.Runtime.Variants;

namespace ModelDsl.Runtime.Optim;

/// <summary>
/// Scion (Pethick et al. 2025): momentum B = mu B + (1-mu) G on every parameter; hidden matrices move
/// along NS(B) sqrt(max(1, out/in)) (the spectral-norm LMO), everything else along sign(B) at
/// SignumLrRatio x LR (the max-norm LMO). Clipping, when configured, covers all parameters.
/// The spectral directions of a step are computed together, same-shaped matrices as one batch.
/// </summary>
[Implements(typeof(Core.Training.Scion))]
public sealed class ScionOptimizer(Core.Training.Scion spec, IReadOnlyList<NamedParameter> parameters, double? clipGradNorm)
    : OptimizerBase(spec.Lr, spec.WeightDecay, clipGradNorm, parameters.Select(p => MuonOptimizer.IsMatrix(p)
        ? new ParameterSlot(p, "spectral", 1.0, p.Role.Decayed(), clipped: true)
        : new ParameterSlot(p, "signum", spec.SignumLrRatio, p.Role.Decayed(), clipped: true)))
{
    private readonly MatrixDirections matrixDirections = new();
    private readonly Scalar momentum = spec.Momentum, gradientWeight = 1 - spec.Momentum;

    private Tensor Momentum(ParameterSlot slot, Tensor gradient)
    {
        var buffer = slot.StateOr("momentum", () => zeros_like(slot.Parameter));
        return buffer.mul_(momentum).add_(gradient, alpha: gradientWeight);
    }

    protected override void BeforeUpdate(StepContext context) =>
        matrixDirections.Compute(Slots, "spectral", spec.NewtonSchulzSteps, Momentum);

    protected override Tensor Direction(ParameterSlot slot, Tensor gradient, long t) =>
        slot.Group == "signum" ? Momentum(slot, gradient).sign() : matrixDirections.Take(slot);
}
