using ModelDsl.Core.Training;
using ModelDsl.Runtime.Parameters;
using ModelDsl.Runtime.Variants;

namespace ModelDsl.Runtime.Optim;

/// <summary>Builds the runtime optimizer of an <see cref="OptimizerSpec"/> over a model's parameters:
/// the class registered for the spec's kind with <see cref="ImplementsAttribute"/>.</summary>
public static class OptimizerFactory
{
    /// <param name="clipGradNorm">Maximum global gradient norm over the optimizer's clip scope (TrainingSpec.ClipGradNorm); null: no clipping.</param>
    public static IOptimizer Create(OptimizerSpec spec, IReadOnlyList<NamedParameter> parameters, double? clipGradNorm)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(parameters);
        return Implementations.Build<IOptimizer>(spec, "training.optimizer", parameters, clipGradNorm);
    }
}
