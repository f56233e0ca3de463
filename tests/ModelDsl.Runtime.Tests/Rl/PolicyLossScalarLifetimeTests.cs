using ModelDsl.Core.Rl;
using ModelDsl.Runtime.Layers;
using ModelDsl.Runtime.Rl;
using ModelDsl.Runtime.Tests.Layers;
using TorchSharp;
using static ModelDsl.Runtime.Tests.Optim.OptimTestSupport;
using static TorchSharp.torch;
using Xunit.Abstractions;

namespace ModelDsl.Runtime.Tests.Rl;

/// <summary>
/// The RL update must not hand libtorch a Scalar that the garbage collector may finalize during the call
/// (as for the optimizers, see OptimizerScalarLifetimeTests). Several threads at once compute log-probs and
/// entropies at a sampling temperature, advantages, the policy loss under every aggregation and KL
/// estimator (dual clip, KL and entropy terms on) and its gradient, again and again, while other threads
/// force collections and run finalizers; every result must equal the undisturbed one bit for bit and no
/// call may throw. The race is probabilistic: passing does not prove its absence.
/// </summary>
public sealed class PolicyLossScalarLifetimeTests(ITestOutputHelper output)
{
    // See Layers/FinalizerStress for the set-up. With the former temporary Scalars of the RL code, 15 s failed
    // in each of 3 runs of this test (1 of about 2000 runs each: "Unknown scalar type", a libtorch
    // assertion); 2 s passed in 4 of 4. With held Scalars, 3 runs of 15 s passed (5786 runs).
    private const int Groups = 3, G = 4, Rows = Groups * G, K = 5, Vocab = 7;

    [Fact]
    public void LossAndGradientUnderConcurrentFinalizationEqualTheUndisturbedRun()
    {
        FinalizerStress.AssertStable(LossesAndGradient, "policy loss", output);
    }

    /// <summary>The four aggregations' losses (KL estimators K1, K2, K3, K3) on fixed float32 logits, and the
    /// gradient of their sum with respect to the logits, as bits.</summary>
    private static int[][] LossesAndGradient()
    {
        using var scope = NewDisposeScope();
        // Logits and log-ratio noise spread wide enough for ratios beyond both clip bounds and the dual clip.
        var logits = tensor(Pseudo(Rows * K * Vocab, 1).Select(x => 3 * x).ToArray(), ScalarType.Float32).reshape(Rows, K, Vocab).requires_grad_(true);
        var tokens = tensor(Enumerable.Range(0, Rows * K).Select(i => (long)(i * 5 % Vocab)).ToArray(), [Rows, K], ScalarType.Int64);
        var mask = tensor(Enumerable.Range(0, Rows * K).Select(i => i % K < 1 + i / K % K ? 1f : 0f).ToArray(), [Rows, K], ScalarType.Float32);
        var logProbs = TokenLogProbs.Of(logits, tokens, 0.7);
        var entropy = TokenLogProbs.Entropy(logits, 0.7);
        var noise = tensor(Pseudo(Rows * K, 2).Select(x => 1.5 * x).ToArray(), ScalarType.Float32).reshape(Rows, K);
        // The test's own sums with a held alpha too, so that only the code under test could fail.
        var old = logProbs.detach().add(noise, HeldScalars.One);
        var reference = logProbs.detach() - noise.flip(0);
        var rewards = tensor(Enumerable.Range(0, Rows).Select(i => (double)(i * 7 % 3)).ToArray(), [Groups, G], ScalarType.Float64);
        var advantages = Advantages.Compute(rewards, new AdvantageSpec()).reshape(Rows);
        KlEstimator[] estimators = [KlEstimator.K1, KlEstimator.K2, KlEstimator.K3, KlEstimator.K3];
        var results = new List<int[]>();
        foreach (var (aggregation, estimator) in Enum.GetValues<LossAggregation>().Zip(estimators))
        {
            var settings = new PolicyLossSettings(new ClippingSpec { EpsLow = 0.2, EpsHigh = 0.28, DualClip = 3 }, 0.05, estimator, 0.01);
            var normalizer = LossNormalizer.For(aggregation, mask, K);
            using var result = PolicyLoss.Compute(logProbs, old, advantages, mask, settings, normalizer, reference, entropy);
            result.Loss.backward(retain_graph: true);
            results.Add([BitConverter.SingleToInt32Bits(result.Loss.item<float>()), (int)result.ClippedLow, (int)result.ClippedHigh, (int)result.DualClipped]);
        }
        results.Add(logits.grad!.contiguous().reshape(-1).data<float>().ToArray().Select(BitConverter.SingleToInt32Bits).ToArray());
        return results.ToArray();
    }
}
