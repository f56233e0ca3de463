using ModelDsl.Core;
using ModelDsl.Core.Json;
using ModelDsl.Core.Rl;
using ModelDsl.Core.Validation;

namespace ModelDsl.Runtime.Tests.Rl;

public class RlSpecTests
{
    [Fact]
    public void DefaultsValidateAndRoundTripThroughCamelCaseJson()
    {
        var spec = new RlSpec
        {
            GroupSize = 16,
            StopToken = 3,
            Clipping = new ClippingSpec { EpsHigh = 0.28, DualClip = 3 },
            Kl = new KlSpec { Beta = 0.01, Estimator = KlEstimator.K2, Placement = KlPlacement.Reward },
            DynamicSampling = new DynamicSamplingSpec(),
            Hints = new HintSpec { Curriculum = ValueList.Of(new HintStage(0.5, 100), new HintStage(0.25, 50)) },
        };
        spec.EnsureValid();
        var json = SpecJson.Serialize(spec);
        Assert.Contains("\"groupSize\": 16", json);
        Assert.Contains("\"promptsPerStep\": 32", json);
        Assert.Contains("\"aggregation\": \"tokenMean\"", json);
        Assert.Contains("\"estimator\": \"k2\"", json);
        Assert.Contains("\"placement\": \"reward\"", json);
        Assert.Contains("\"epsHigh\": 0.28", json);
        Assert.Contains("\"minPrefixTokens\": 1", json);
        Assert.Equal(spec, SpecJson.Deserialize<RlSpec>(json));
        Assert.Equal(new RlSpec(), SpecJson.Deserialize<RlSpec>("{}"));
        Assert.Equal(16 * 32, spec.CompletionsPerStep);
    }

    [Fact]
    public void BrokenRulesAreReportedWithTheirPaths()
    {
        var spec = new RlSpec
        {
            GroupSize = 1,
            PromptsPerStep = 0,
            Sampling = new() { Temperature = 0 },
            MaxNewTokens = 0,
            Advantage = new AdvantageSpec { Eps = 0 },
            AggregationConstant = -1,
            Clipping = new ClippingSpec { EpsLow = 1, EpsHigh = 0, DualClip = 0.5 },
            Kl = new KlSpec { Beta = -0.1 },
            Mu = 0,
            DynamicSampling = new DynamicSamplingSpec { Low = 0.9, High = 0.1, MaxExtraRounds = -1 },
            EntropyCoefficient = -1,
            MicroBatch = 0,
            Reward = new RewardSpec { Scale = 0 },
            Hints = new HintSpec { Fraction = 1.5, MinPrefixTokens = 0, Curriculum = ValueList.Of(new HintStage(-0.1, 0)) },
        };
        var errors = Assert.Throws<SpecValidationException>(() => spec.EnsureValid()).Errors.Select(e => e.Path).ToList();
        Assert.Equal(new[]
        {
            "rl.groupSize", "rl.promptsPerStep", "rl.sampling.temperature", "rl.maxNewTokens", "rl.advantage.eps",
            "rl.aggregationConstant", "rl.clipping.epsLow", "rl.clipping.epsHigh", "rl.clipping.dualClip", "rl.kl.beta", "rl.mu",
            "rl.dynamicSampling.high", "rl.dynamicSampling.maxExtraRounds", "rl.entropyCoefficient", "rl.microBatch",
            "rl.reward.scale", "rl.hints.fraction", "rl.hints.minPrefixTokens", "rl.hints.curriculum[0].fraction",
            "rl.hints.curriculum[0].steps",
        }, errors);
        Assert.Contains("at least 2", Assert.Throws<SpecValidationException>(() => new RlSpec { GroupSize = 1 }.EnsureValid()).Message);
    }

    [Fact]
    public void UnknownFieldsAreRejected() =>
        Assert.Throws<SpecFormatException>(() => SpecJson.Deserialize<RlSpec>("{\"groupsize\": 4}"));

    [Fact]
    public void TheCurriculumHoldsEachStageForItsStepsThenKeepsTheLast()
    {
        var hints = new HintSpec { Fraction = 0.9, Curriculum = ValueList.Of(new HintStage(0.5, 3), new HintStage(0.25, 2)) };
        Assert.Equal(new[] { 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25 }, Enumerable.Range(0, 7).Select(s => hints.FractionAt(s)));
        Assert.Equal(0.9, new HintSpec { Fraction = 0.9 }.FractionAt(1000));
        var minimum = new HintSpec { MinPrefixTokens = 3 };
        Assert.Equal(0, minimum.PrefixLength(5, 0.5)); // floor(2.5) = 2 < 3
        Assert.Equal(3, minimum.PrefixLength(6, 0.5));
        Assert.Equal(0, new HintSpec().PrefixLength(1, 0.5));
    }
}
