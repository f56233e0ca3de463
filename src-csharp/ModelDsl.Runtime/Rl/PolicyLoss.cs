using ModelDsl.Core.Rl;
using TorchSharp;
using static ModelDsl.Runtime.Layers.HeldScalars;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Rl;

/// <summary>What the policy loss needs besides the log-probabilities: clipping, the KL term (when it is
/// in the loss) and the entropy bonus.</summary>
public sealed record PolicyLossSettings(ClippingSpec Clipping, double KlBeta = 0, KlEstimator KlEstimator = KlEstimator.K3,
    double EntropyCoefficient = 0)
{
    public static PolicyLossSettings From(RlSpec spec) => new(spec.Clipping,
        spec.Kl.Placement == KlPlacement.Loss ? spec.Kl.Beta : 0, spec.Kl.Estimator, spec.EntropyCoefficient);
}

/// <summary>A micro-batch's loss (a scalar with gradient) and token counts and sums for the metrics
/// (each over the micro-batch's counted tokens, so micro-batches add up).</summary>
public sealed record PolicyLossResult(Tensor Loss, double Tokens, double ClippedLow, double ClippedHigh, double DualClipped,
    double KlSum, double EntropySum) : IDisposable
{
    public void Dispose() => Loss.Dispose();
}

/// <summary>
/// The GRPO/DAPO objective on one micro-batch (PAPERS.md §2). Per counted token:
/// ratio r = exp(logp - logp_old); pg = max(-A r, -A clip(r, 1 - epsLow, 1 + epsHigh)) (PPO eq. 7 with
/// DAPO's separate bounds); with dual clip c and A &lt; 0, pg = min(pg, -c A); then
/// l = pg + beta * KL(logp, logp_ref) - entropyCoefficient * H. The per-token losses are reduced by a
/// <see cref="LossNormalizer"/> counted over the whole batch. Masked positions are replaced by constants
/// before any exp, so they receive exactly zero gradient whatever their values.
/// </summary>
public static class PolicyLoss
{
    /// <param name="logProbs">[b, T] log-probabilities of the sampled tokens under the current policy (with gradient).</param>
    /// <param name="oldLogProbs">[b, T] behaviour log-probabilities recorded at sampling time.</param>
    /// <param name="advantages">[b] one advantage per completion (or [b, T]).</param>
    /// <param name="mask">[b, T], 1 where a token counts.</param>
    /// <param name="referenceLogProbs">[b, T] under the frozen reference; required when settings.KlBeta > 0.</param>
    /// <param name="entropy">[b, T] policy entropy per position; required when settings.EntropyCoefficient > 0.</param>
    public static PolicyLossResult Compute(Tensor logProbs, Tensor oldLogProbs, Tensor advantages, Tensor mask,
        PolicyLossSettings settings, LossNormalizer normalizer, Tensor? referenceLogProbs = null, Tensor? entropy = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(normalizer);
        if (settings.KlBeta > 0 && referenceLogProbs is null)
            throw new ArgumentException("a KL coefficient above 0 needs the reference log-probabilities", nameof(referenceLogProbs));
        if (settings.EntropyCoefficient > 0 && entropy is null)
            throw new ArgumentException("an entropy coefficient above 0 needs the entropy", nameof(entropy));
        using var scope = NewDisposeScope();
        var clip = settings.Clipping;
        // Clip bounds and coefficients as Scalars held past the native calls (see HeldScalars).
        using var lowBound = (1 - clip.EpsLow).ToScalar();
        using var highBound = (1 + clip.EpsHigh).ToScalar();
        var counted = mask.gt(Zero);
        var zero = zeros_like(logProbs);
        var a = (advantages.dim() == 1 ? advantages.unsqueeze(1) : advantages).to(logProbs.dtype).expand_as(logProbs);

        var logRatio = where(counted, logProbs - oldLogProbs, zero);
        var ratio = logRatio.exp();
        var unclipped = -a * ratio;
        var clipped = -a * ratio.clamp(lowBound, highBound);
        var pg = maximum(unclipped, clipped);
        var dualClipped = zeros_like(counted);
        if (clip.DualClip is { } c)
        {
            using var dualClip = c.ToScalar();
            var cap = (-a).mul(dualClip);
            dualClipped = a.lt(Zero).logical_and(pg.gt(cap)).logical_and(counted);
            pg = where(a.lt(Zero), minimum(pg, cap), pg);
        }
        var perToken = pg;

        double klSum = 0;
        if (referenceLogProbs is not null)
        {
            var kl = KlEstimators.Compute(where(counted, logProbs, zero), where(counted, referenceLogProbs, zero), settings.KlEstimator);
            klSum = where(counted, kl, zero).detach().sum().to(ScalarType.Float64).item<double>();
            if (settings.KlBeta > 0)
            {
                using var klBeta = settings.KlBeta.ToScalar();
                perToken = perToken.add(kl.mul(klBeta), One);
            }
        }
        double entropySum = 0;
        if (entropy is not null)
        {
            var safeEntropy = where(counted, entropy, zero);
            entropySum = safeEntropy.detach().sum().to(ScalarType.Float64).item<double>();
            if (settings.EntropyCoefficient > 0)
            {
                using var entropyCoefficient = settings.EntropyCoefficient.ToScalar();
                perToken = perToken - safeEntropy.mul(entropyCoefficient);
            }
        }
        perToken = where(counted, perToken, zero);
        var loss = normalizer.Reduce(perToken, counted.to(logProbs.dtype));

        using var noGrad = no_grad();
        var detachedRatio = ratio.detach();
        var low = a.lt(Zero).logical_and(detachedRatio.lt(lowBound)).logical_and(counted).sum().item<long>();
        var high = a.gt(Zero).logical_and(detachedRatio.gt(highBound)).logical_and(counted).sum().item<long>();
        return new PolicyLossResult(loss.MoveToOuterDisposeScope(), counted.sum().item<long>(), low, high,
            dualClipped.sum().item<long>(), klSum, entropySum);
    }
}
