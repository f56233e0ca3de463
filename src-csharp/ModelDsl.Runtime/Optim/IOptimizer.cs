using static TorchSharp.torch;

namespace ModelDsl.Runtime.Optim;

/// <summary>
/// Returns H v for the loss of the current global batch at the current parameters: one vector per
/// parameter, in the order of the optimizer's slots (Pearlmutter's double backward).
/// </summary>
public delegate IReadOnlyList<Tensor> HessianVectorProduct(IReadOnlyList<Tensor> vectors);

/// <summary>What a step may need beyond the gradients: a Hessian-vector product (Sophia-H), null when the caller cannot provide one.</summary>
public sealed record StepContext(HessianVectorProduct? HessianVectorProduct = null)
{
    public static readonly StepContext None = new();
}

/// <summary>
/// One optimizer over all trainable parameters of a model. A step: clip the gradients of the
/// optimizer's clip scope to the global norm given at creation, compute each parameter's direction
/// u, add wd * W on the decayed group, and move W -= lr * ratio * multiplier * u, where ratio is the
/// parameter group's LR ratio and multiplier the schedule's value for this step.
/// </summary>
public interface IOptimizer : IDisposable
{
    /// <summary>Every parameter with its group, LR ratio, decay and clip flags and state.</summary>
    IReadOnlyList<ParameterSlot> Slots { get; }
    /// <summary>Steps taken so far (restored by <see cref="LoadState"/>).</summary>
    long StepCount { get; }
    /// <summary>True when the next step will call <see cref="StepContext.HessianVectorProduct"/>.</summary>
    bool NeedsHessianVectorProduct { get; }
    /// <summary>Takes one step from the gradients in place and returns the global gradient norm over all parameters before clipping.</summary>
    double Step(double learningRateMultiplier, StepContext context);
    void ZeroGrad();
    /// <summary>Writes the step count and every state tensor exactly (bit for bit), so that a resumed run repeats the uninterrupted one.</summary>
    void SaveState(BinaryWriter writer);
    /// <summary>Restores state written by <see cref="SaveState"/> for the same parameters.</summary>
    void LoadState(BinaryReader reader);
}
