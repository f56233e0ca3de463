using ModelDsl.Core.Rl;
using ModelDsl.Runtime.Rl;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tests.Rl;

/// <summary>The GRPO loss against scalar loops written from the formulas (fp64), gradients included.</summary>
public class PolicyLossTests
{
    private const int B = 5, T = 4;

    /// <summary>A batch with both advantage signs, ratios inside and outside the clip range, uneven
    /// lengths and one completion fully masked.</summary>
    private sealed class Case
    {
        public readonly double[,] LogP = new double[B, T], Old = new double[B, T], Ref = new double[B, T], Entropy = new double[B, T], Mask = new double[B, T];
        public readonly double[] A = [1.3, -0.7, -2.1, 0.4, 0.9];

        public Case()
        {
            var random = new Random(3);
            int[] lengths = [4, 2, 3, 0, 1];
            for (var i = 0; i < B; i++)
                for (var t = 0; t < T; t++)
                {
                    LogP[i, t] = -0.2 - 2 * random.NextDouble();
                    Old[i, t] = LogP[i, t] + 1.6 * (random.NextDouble() - 0.5);
                    Ref[i, t] = LogP[i, t] + (random.NextDouble() - 0.5);
                    Entropy[i, t] = random.NextDouble();
                    Mask[i, t] = t < lengths[i] ? 1 : 0;
                }
            Old[1, 3] = 900; // a masked position whose ratio would overflow
            Old[2, 0] = LogP[2, 0] - 1.7; // ratio e^1.7 = 5.5 > c = 3 with A < 0: dual clip
        }

        public Tensor T2(double[,] values, bool grad = false) =>
            tensor(values.Cast<double>().ToArray(), [B, T], ScalarType.Float64).requires_grad_(grad);
    }

    /// <summary>Per-token loss and its derivative w.r.t. log pi, written from the definitions.</summary>
    private static (double Loss, double DLogP, double DEntropy) Token(double lp, double old, double rf, double h, double a,
        ClippingSpec clip, double beta, KlEstimator estimator, double entropyCoefficient)
    {
        var r = Math.Exp(lp - old);
        var clippedRatio = Math.Min(Math.Max(r, 1 - clip.EpsLow), 1 + clip.EpsHigh);
        double loss, d;
        if (-a * r >= -a * clippedRatio) { loss = -a * r; d = -a * r; }
        else { loss = -a * clippedRatio; d = 0; }
        if (clip.DualClip is { } c && a < 0 && loss > -c * a) { loss = -c * a; d = 0; }
        var logR = rf - lp;
        var (kl, dkl) = estimator switch
        {
            KlEstimator.K1 => (-logR, 1.0),
            KlEstimator.K2 => (logR * logR / 2, -logR),
            _ => (Math.Exp(logR) - 1 - logR, 1 - Math.Exp(logR)),
        };
        return (loss + beta * kl - entropyCoefficient * h, d + beta * dkl, -entropyCoefficient);
    }

    private static double[,] Weights(Case k, LossAggregation aggregation, double constant)
    {
        var w = new double[B, T];
        double tokens = 0, sequences = 0;
        var lengths = new double[B];
        for (var i = 0; i < B; i++)
        {
            for (var t = 0; t < T; t++) lengths[i] += k.Mask[i, t];
            tokens += lengths[i];
            if (lengths[i] > 0) sequences++;
        }
        for (var i = 0; i < B; i++)
            for (var t = 0; t < T; t++)
                w[i, t] = k.Mask[i, t] == 0 ? 0 : aggregation switch
                {
                    LossAggregation.TokenMean => 1 / tokens,
                    LossAggregation.SequenceMean => 1 / (lengths[i] * sequences),
                    LossAggregation.ConstantNormalizer => 1 / (sequences * constant),
                    _ => 1 / sequences,
                };
        return w;
    }

    public static TheoryData<LossAggregation, KlEstimator, bool> Modes()
    {
        var data = new TheoryData<LossAggregation, KlEstimator, bool>();
        foreach (var aggregation in Enum.GetValues<LossAggregation>())
            foreach (var estimator in Enum.GetValues<KlEstimator>())
                data.Add(aggregation, estimator, estimator == KlEstimator.K3);
        return data;
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void LossAndGradientsMatchAScalarLoop(LossAggregation aggregation, KlEstimator estimator, bool dualClip)
    {
        using var scope = NewDisposeScope();
        var k = new Case();
        var clip = new ClippingSpec { EpsLow = 0.2, EpsHigh = 0.28, DualClip = dualClip ? 3 : null };
        var settings = new PolicyLossSettings(clip, 0.05, estimator, 0.01);
        const double constant = 6;
        var w = Weights(k, aggregation, constant);
        double expected = 0;
        var expectedGrad = new double[B * T];
        var expectedEntropyGrad = new double[B * T];
        double low = 0, high = 0, dual = 0;
        for (var i = 0; i < B; i++)
            for (var t = 0; t < T; t++)
            {
                if (k.Mask[i, t] == 0) continue;
                var (loss, d, dh) = Token(k.LogP[i, t], k.Old[i, t], k.Ref[i, t], k.Entropy[i, t], k.A[i], clip, 0.05, estimator, 0.01);
                expected += w[i, t] * loss;
                expectedGrad[i * T + t] = w[i, t] * d;
                expectedEntropyGrad[i * T + t] = w[i, t] * dh;
                var r = Math.Exp(k.LogP[i, t] - k.Old[i, t]);
                if (k.A[i] < 0 && r < 0.8) low++;
                if (k.A[i] > 0 && r > 1.28) high++;
                if (dualClip && k.A[i] < 0 && r > 3) dual++;
            }

        var logP = k.T2(k.LogP, grad: true);
        var entropy = k.T2(k.Entropy, grad: true);
        var mask = k.T2(k.Mask);
        var normalizer = LossNormalizer.For(aggregation, mask, constant);
        using var result = PolicyLoss.Compute(logP, k.T2(k.Old), tensor(k.A, ScalarType.Float64), mask, settings, normalizer,
            k.T2(k.Ref), entropy);
        result.Loss.backward();

        Assert.Equal(expected, result.Loss.item<double>(), 12);
        AssertClose(expectedGrad, logP.grad!.data<double>().ToArray());
        AssertClose(expectedEntropyGrad, entropy.grad!.data<double>().ToArray());
        Assert.Equal((low, high, dual), (result.ClippedLow, result.ClippedHigh, result.DualClipped));
        Assert.True(low + high > 0, "the case exercises clipping");
        if (dualClip) Assert.Equal(1, dual);
        Assert.Equal(10, result.Tokens);
    }

    [Theory]
    [InlineData(LossAggregation.TokenMean)]
    [InlineData(LossAggregation.SequenceMean)]
    [InlineData(LossAggregation.ConstantNormalizer)]
    [InlineData(LossAggregation.SequenceSum)]
    public void MicroBatchesAccumulateToTheWholeBatchLossAndGradient(LossAggregation aggregation)
    {
        using var scope = NewDisposeScope();
        var k = new Case();
        var settings = new PolicyLossSettings(new ClippingSpec { EpsHigh = 0.28, DualClip = 3 }, 0.1, KlEstimator.K3, 0.02);
        var mask = k.T2(k.Mask);
        var normalizer = LossNormalizer.For(aggregation, mask, constant: 7);
        var (old, reference, advantages) = (k.T2(k.Old), k.T2(k.Ref), tensor(k.A, ScalarType.Float64));

        var whole = k.T2(k.LogP, grad: true);
        var wholeEntropy = k.T2(k.Entropy, grad: true);
        using var wholeResult = PolicyLoss.Compute(whole, old, advantages, mask, settings, normalizer, reference, wholeEntropy);
        wholeResult.Loss.backward();

        var split = k.T2(k.LogP, grad: true);
        var splitEntropy = k.T2(k.Entropy, grad: true);
        double total = 0, tokens = 0, klSum = 0;
        foreach (var (start, length) in new[] { (0, 2), (2, 1), (3, 2) })
        {
            using var part = PolicyLoss.Compute(split.narrow(0, start, length), old.narrow(0, start, length),
                advantages.narrow(0, start, length), mask.narrow(0, start, length), settings, normalizer,
                reference.narrow(0, start, length), splitEntropy.narrow(0, start, length));
            part.Loss.backward();
            total += part.Loss.item<double>();
            tokens += part.Tokens;
            klSum += part.KlSum;
        }
        Assert.Equal(wholeResult.Loss.item<double>(), total, 13);
        Assert.Equal(wholeResult.Tokens, tokens);
        Assert.Equal(wholeResult.KlSum, klSum, 12);
        AssertClose(whole.grad!.data<double>().ToArray(), split.grad!.data<double>().ToArray(), 1e-14);
        AssertClose(wholeEntropy.grad!.data<double>().ToArray(), splitEntropy.grad!.data<double>().ToArray(), 1e-14);
    }

    /// <summary>A float32 policy (the trainer's default precision) gives the float64 loss, KL and entropy sums.</summary>
    [Fact]
    public void Float32InputsGiveTheFloat64Results()
    {
        using var scope = NewDisposeScope();
        var k = new Case();
        var settings = new PolicyLossSettings(new ClippingSpec { DualClip = 2 }, 0.3, KlEstimator.K3, 0.1);
        PolicyLossResult Run(ScalarType dtype)
        {
            var mask = k.T2(k.Mask).to(dtype);
            return PolicyLoss.Compute(k.T2(k.LogP).to(dtype), k.T2(k.Old).to(dtype), tensor(k.A, ScalarType.Float64), mask, settings,
                LossNormalizer.For(LossAggregation.TokenMean, mask, 4), k.T2(k.Ref).to(dtype), k.T2(k.Entropy).to(dtype));
        }
        using var wide = Run(ScalarType.Float64);
        using var narrow = Run(ScalarType.Float32);
        Assert.Equal(ScalarType.Float32, narrow.Loss.dtype);
        Assert.Equal(wide.Loss.item<double>(), narrow.Loss.to(ScalarType.Float64).item<double>(), 5);
        Assert.Equal(wide.KlSum, narrow.KlSum, 4);
        Assert.Equal(wide.EntropySum, narrow.EntropySum, 4);
        Assert.Equal(wide.Tokens, narrow.Tokens);
    }

    [Fact]
    public void MaskedPositionsGetExactlyZeroGradient()
    {
        using var scope = NewDisposeScope();
        var k = new Case();
        var logP = k.T2(k.LogP, grad: true);
        var entropy = k.T2(k.Entropy, grad: true);
        var reference = k.T2(k.Ref);
        reference[1, 3] = tensor(-2000.0); // an overflowing KL at a masked position
        var mask = k.T2(k.Mask);
        var settings = new PolicyLossSettings(new ClippingSpec { DualClip = 2 }, 0.3, KlEstimator.K3, 0.1);
        using var result = PolicyLoss.Compute(logP, k.T2(k.Old), tensor(k.A, ScalarType.Float64), mask, settings,
            LossNormalizer.For(LossAggregation.SequenceMean, mask, 4), reference, entropy);
        result.Loss.backward();
        var grad = logP.grad!.data<double>().ToArray();
        var entropyGrad = entropy.grad!.data<double>().ToArray();
        Assert.True(double.IsFinite(result.Loss.item<double>()));
        for (var i = 0; i < B; i++)
            for (var t = 0; t < T; t++)
                if (k.Mask[i, t] == 0)
                {
                    Assert.Equal(0.0, grad[i * T + t]);
                    Assert.Equal(0.0, entropyGrad[i * T + t]);
                }
                else Assert.True(double.IsFinite(grad[i * T + t]));
    }

    [Fact]
    public void AdvantagesMatchHandComputations()
    {
        using var scope = NewDisposeScope();
        double[] r = [1, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0];
        var rewards = tensor(r, [3, 4], ScalarType.Float64);
        const double eps = 1e-6;
        // Group 1: mean 1/2, unbiased std sqrt(1/3), population std 1/2; group 2: mean 3/4, unbiased std 1/2;
        // group 3: all zero, so its advantages are 0.
        var s1 = Math.Sqrt(1.0 / 3);
        double[] group = [.. new[] { 0.5, -0.5, -0.5, 0.5 }.Select(x => x / (s1 + eps)), .. new[] { 0.25, 0.25, 0.25, -0.75 }.Select(x => x / (0.5 + eps)), 0, 0, 0, 0];
        AssertClose(group, Advantages.Compute(rewards, new AdvantageSpec { Eps = eps }).data<double>().ToArray(), 1e-12);

        var population = Advantages.Compute(rewards, new AdvantageSpec { Std = StandardDeviation.Population, Eps = eps }).data<double>().ToArray();
        var s2 = Math.Sqrt(3.0 / 16);
        Assert.Equal(0.5 / (0.5 + eps), population[0], 12);
        Assert.Equal(-0.75 / (s2 + eps), population[7], 12);

        // Batch: 5 ones of 12, mean 5/12, unbiased variance (5 (7/12)^2 + 7 (5/12)^2) / 11.
        var mean = 5.0 / 12;
        var std = Math.Sqrt((5 * Math.Pow(1 - mean, 2) + 7 * mean * mean) / 11);
        var batch = Advantages.Compute(rewards, new AdvantageSpec { Normalization = AdvantageNormalization.Batch, Eps = eps }).data<double>().ToArray();
        AssertClose(r.Select(x => (x - mean) / (std + eps)).ToArray(), batch, 1e-12);

        var none = Advantages.Compute(rewards, new AdvantageSpec { Normalization = AdvantageNormalization.None }).data<double>().ToArray();
        AssertClose([0.5, -0.5, -0.5, 0.5, 0.25, 0.25, 0.25, -0.75, 0, 0, 0, 0], none, 1e-15);
    }

    [Fact]
    public void TemperedLogProbsAndEntropyMatchAScalarLoop()
    {
        using var scope = NewDisposeScope();
        double[] logits = [0.3, -1.2, 2.0, 0.1, 0.5, 0.5];
        const double temperature = 0.7;
        var x = tensor(logits, [2, 3], ScalarType.Float64);
        var tokens = tensor(new long[] { 2, 0 }, ScalarType.Int64);
        var logProbs = TokenLogProbs.Of(x, tokens, temperature).data<double>().ToArray();
        var entropy = TokenLogProbs.Entropy(x, temperature).data<double>().ToArray();
        for (var row = 0; row < 2; row++)
        {
            var z = logits.Skip(3 * row).Take(3).Select(v => v / temperature).ToArray();
            var logNormalizer = Math.Log(z.Sum(Math.Exp));
            var chosen = row == 0 ? 2 : 0;
            Assert.Equal(z[chosen] - logNormalizer, logProbs[row], 13);
            Assert.Equal(-z.Sum(v => Math.Exp(v - logNormalizer) * (v - logNormalizer)), entropy[row], 13);
        }
    }

    [Fact]
    public void KlEstimatorsFollowTheirDefinitions()
    {
        using var scope = NewDisposeScope();
        var logP = tensor(new[] { -1.0, -0.3 }, ScalarType.Float64);
        var reference = tensor(new[] { -1.5, -0.1 }, ScalarType.Float64);
        double[] logR = [-0.5, 0.2];
        AssertClose(logR.Select(v => -v).ToArray(), KlEstimators.Compute(logP, reference, KlEstimator.K1).data<double>().ToArray(), 1e-15);
        AssertClose(logR.Select(v => v * v / 2).ToArray(), KlEstimators.Compute(logP, reference, KlEstimator.K2).data<double>().ToArray(), 1e-15);
        AssertClose(logR.Select(v => Math.Exp(v) - 1 - v).ToArray(), KlEstimators.Compute(logP, reference, KlEstimator.K3).data<double>().ToArray(), 1e-15);
    }

    internal static void AssertClose(double[] expected, double[] actual, double tolerance = 1e-12)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * Math.Max(1, Math.Abs(expected[i])),
                $"index {i}: expected {expected[i]:R}, got {actual[i]:R}");
    }
}
