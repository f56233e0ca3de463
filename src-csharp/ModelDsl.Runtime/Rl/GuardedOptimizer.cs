using ModelDsl.Runtime.Optim;
using ModelDsl.Runtime.Training;

namespace ModelDsl.Runtime.Rl;

/// <summary>
/// The divergence check of an RL run, placed where the RL trainer hands its gradients to the optimizer:
/// a step whose global gradient norm (before clipping) is not finite is refused, so no weight changes,
/// and the refusal is kept in <see cref="Problem"/> until <see cref="Clear"/> (the rest of the RL step's
/// updates are refused too). Finite steps go through unchanged: the norm is only read.
/// </summary>
internal sealed class GuardedOptimizer(IOptimizer inner) : IOptimizer
{
    /// <summary>What was wrong with the first refused update since the last <see cref="Clear"/>; null when none was.</summary>
    public string? Problem { get; private set; }
    /// <summary>The gradient norm of the refused update.</summary>
    public double RefusedGradNorm { get; private set; }

    public void Clear()
    {
        Problem = null;
        RefusedGradNorm = 0;
    }

    public IReadOnlyList<ParameterSlot> Slots => inner.Slots;
    public long StepCount => inner.StepCount;
    public bool NeedsHessianVectorProduct => inner.NeedsHessianVectorProduct;

    public double Step(double learningRateMultiplier, StepContext context)
    {
        var norm = GradientNorm.Global(inner.Slots);
        if (Problem is not null) return norm;
        if (!double.IsFinite(norm))
        {
            Problem = $"the gradient norm is {norm.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)}";
            RefusedGradNorm = norm;
            return norm;
        }
        return inner.Step(learningRateMultiplier, context);
    }

    public void ZeroGrad() => inner.ZeroGrad();
    public void SaveState(BinaryWriter writer) => inner.SaveState(writer);
    public void LoadState(BinaryReader reader) => inner.LoadState(reader);
    public void Dispose() => inner.Dispose();
}
