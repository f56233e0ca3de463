using ModelDsl.Runtime.Layers;
using ModelDsl.Core.Rl;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Rl;

/// <summary>
/// Per-token estimators of KL(pi || ref) from the log-probabilities of the sampled tokens, with
/// log r = log ref - log pi (Schulman 2020): k1 = -log r, k2 = (log r)^2 / 2, k3 = r - 1 - log r.
/// </summary>
public static class KlEstimators
{
    public static Tensor Compute(Tensor logProbs, Tensor referenceLogProbs, KlEstimator estimator)
    {
        using var scope = NewDisposeScope();
        var logRatio = referenceLogProbs - logProbs;
        // Held constants (see HeldScalars): / 2 and - 1 would pass temporary int Scalars.
        Tensor result = estimator switch
        {
            KlEstimator.K1 => -logRatio,
            KlEstimator.K2 => logRatio.Squared().div(HeldScalars.Two),
            KlEstimator.K3 => logRatio.exp().sub(HeldScalars.One) - logRatio,
            _ => throw new ArgumentOutOfRangeException(nameof(estimator), estimator, "unknown KL estimator"),
        };
        return result.MoveToOuterDisposeScope();
    }
}
