using ModelDsl.Core.Training;
using ModelDsl.Runtime.Compile;

namespace ModelDsl.Runtime.Optim;

/// <summary>Builds the runtime optimizer of an <see cref="OptimizerSpec"/> over a model's parameters.</summary>
public static class OptimizerFactory
{
    /// <param name="clipGradNorm">Maximum global gradient norm over the optimizer's clip scope (TrainingSpec.ClipGradNorm); null: no clipping.</param>
    /// <param name="attention">Where fused query/key heads lie, for Adam-mini's per-head blocks; null: per-row blocks everywhere.</param>
    public static IOptimizer Create(OptimizerSpec spec, IReadOnlyList<NamedParameter> parameters, double? clipGradNorm,
        AttentionLayout? attention = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(parameters);
        return spec switch
        {
            Core.Training.AdamW s => new AdamWOptimizer(s, parameters, clipGradNorm),
            NAdamW s => new NAdamWOptimizer(s, parameters, clipGradNorm),
            Mars s => new MarsOptimizer(s, parameters, clipGradNorm),
            Cautious s => new CautiousOptimizer(s, parameters, clipGradNorm),
            Lion s => new LionOptimizer(s, parameters, clipGradNorm),
            AdamMini s => new AdamMiniOptimizer(s, parameters, clipGradNorm, attention),
            Muon s => new MuonOptimizer(s, parameters, clipGradNorm),
            Scion s => new ScionOptimizer(s, parameters, clipGradNorm),
            Soap s => new SoapOptimizer(s, parameters, clipGradNorm),
            SophiaH s => new SophiaHOptimizer(s, parameters, clipGradNorm),
            Kron s => new KronOptimizer(s, parameters, clipGradNorm),
            _ => throw new NotSupportedException($"training.optimizer: {spec.GetType().Name} has no runtime implementation"),
        };
    }
}
