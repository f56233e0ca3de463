using ModelDsl.Core.Model;
using ModelDsl.Core.Rl;
using ModelDsl.Core.Tasks;
using ModelDsl.Core.Training;
using ModelDsl.Runtime.Compile;
using ModelDsl.Runtime.Optim;
using ModelDsl.Runtime.Rl;
using ModelDsl.Runtime.Tasks;
using static TorchSharp.torch;
using ModelDsl.Runtime.Model;

namespace ModelDsl.Runtime.Tests.Rl;

public class RlTrainerTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>Chained sums mod 6 of two operands, answer only: vocabulary 7 ('=' is 6), one answer token.</summary>
    private static readonly ChainedArithmeticTask Task = new(new ChainedArithmetic { Modulus = 6, Steps = 2, ChainOfThought = false }, seed: 2);

    /// <summary>An easy, quickly learnable reward: the answer token 3 is always right.</summary>
    private sealed class TokenThreeIsRight : IRewardFunction
    {
        public CompletionScore Score(Problem problem, ReadOnlySpan<long> answer, bool stopped) =>
            answer[0] == 3 ? new(true, true, 1) : new(false, true, 0);
    }

    private static LanguageModel Policy(int vocab = 7) =>
        ModelCompiler.Build(ModelSpec.Llama(vocab: vocab, width: 16, depth: 1, heads: 2) with { MaxSequenceLength = 16 }, ScalarType.Float64, seed: 11);

    private static IOptimizer Adam(LanguageModel model, double lr = 0.02) =>
        OptimizerFactory.Create(new AdamW { Lr = lr, WeightDecay = 0 }, model.NamedParameters(), clipGradNorm: 1.0);

    private static double[] Weights(LanguageModel model) => model.parameters().SelectMany(p => p.data<double>().ToArray()).ToArray();

    private static (List<RlStepMetrics> Metrics, double[] Weights) Train(RlSpec spec, int steps, IRewardFunction? reward = null, int vocab = 7)
    {
        using var scope = NewDisposeScope();
        using var policy = Policy(vocab);
        using var optimizer = Adam(policy);
        using var trainer = new RlTrainer(spec, policy, optimizer, Task, seed: 5, reward: reward ?? new TokenThreeIsRight());
        var metrics = Enumerable.Range(0, steps).Select(_ => trainer.Step()).ToList();
        return (metrics, Weights(policy));
    }

    private static readonly RlSpec Easy = new() { GroupSize = 8, PromptsPerStep = 8, MicroBatch = 16 };

    [Fact]
    public void SeveralStepsRaiseTheMeanRewardAndRunsAreDeterministic()
    {
        var (metrics, weights) = Train(Easy, 8);
        output.WriteLine("mean reward per step: " + string.Join(", ", metrics.Select(m => m.MeanReward.ToString("F3"))));
        output.WriteLine("entropy per step: " + string.Join(", ", metrics.Select(m => m.Entropy.ToString("F3"))));
        var first = metrics[0].MeanReward;
        var last = metrics[^2..].Average(m => m.MeanReward);
        Assert.True(first < 0.35, $"the reward starts near chance (1/7), got {first}");
        Assert.True(last > first + 0.3, $"mean reward {first} -> {last}: " + string.Join(", ", metrics.Select(m => m.MeanReward.ToString("F3"))));
        Assert.All(metrics, m => Assert.Equal(m.MeanReward, m.Accuracy));
        Assert.All(metrics, m => Assert.Equal(1, m.CompletionLengthMax));
        Assert.All(metrics, m => Assert.Equal(8, m.TrainedGroups));
        Assert.All(metrics, m => Assert.True(double.IsNaN(m.Kl)));
        Assert.All(metrics, m => Assert.True(m.Entropy > 0 && m.SamplingTokensPerSecond > 0 && m.TrainingTokensPerSecond > 0));

        var (again, againWeights) = Train(Easy, 8);
        Assert.Equal(metrics.Select(m => m.MeanReward), again.Select(m => m.MeanReward));
        Assert.Equal(weights, againWeights);
    }

    [Fact]
    public void MicroBatchSizeDoesNotChangeTheUpdate()
    {
        foreach (var aggregation in Enum.GetValues<LossAggregation>())
        {
            var spec = Easy with
            {
                PromptsPerStep = 4, GroupSize = 4,
                Aggregation = aggregation, Mu = 2, Clipping = new ClippingSpec { EpsHigh = 0.28, DualClip = 3 },
                Kl = new KlSpec { Beta = 0.05 }, EntropyCoefficient = 0.01,
            };
            var (_, whole) = Train(spec with { MicroBatch = 64 }, 1);
            var (_, split) = Train(spec with { MicroBatch = 5 }, 1);
            PolicyLossTests.AssertClose(whole, split, 1e-10);
        }
    }

    [Fact]
    public void TheKlToTheFrozenReferenceStartsAtZeroAndGrows()
    {
        var spec = Easy with { Kl = new KlSpec { Beta = 0.1 }, Mu = 1 };
        var (metrics, _) = Train(spec, 4);
        Assert.Equal(0.0, metrics[0].Kl); // the policy equals the reference before its first update
        Assert.True(metrics[^1].Kl > 0, $"KL after three updates: {metrics[^1].Kl}");
        var inReward = Train(spec with { Kl = new KlSpec { Beta = 0.1, Placement = KlPlacement.Reward } }, 3).Metrics;
        Assert.Equal(0.0, inReward[0].Kl);
        Assert.True(inReward[^1].Kl > 0);
    }

    /// <summary>Right for odd first operands when the answer is below 3; never right for even ones.</summary>
    private sealed class OddPromptsOnly : IRewardFunction
    {
        public CompletionScore Score(Problem problem, ReadOnlySpan<long> answer, bool stopped) =>
            problem.Prompt[0] % 2 == 1 && answer[0] < 3 ? new(true, true, 1) : new(false, true, 0);
    }

    [Fact]
    public void DynamicSamplingDropsAllWrongGroupsAndRefills()
    {
        var spec = Easy with { DynamicSampling = new DynamicSamplingSpec { MaxExtraRounds = 6 } };
        var source = new TaskProblemSource(Task);
        var metrics = Train(spec, 2, new OddPromptsOnly()).Metrics;
        foreach (var m in metrics)
        {
            // Every even-first-operand group is all wrong; count them over the rounds the step used.
            var even = Enumerable.Range(0, m.SamplingRounds).Sum(r => source.TrainingProblems(m.Step, r, 8).Count(p => p.Prompt[0] % 2 == 0));
            Assert.True(m.DroppedGroups >= even, $"dropped {m.DroppedGroups} < {even} all-wrong groups");
            Assert.Equal(8, m.TrainedGroups);
            Assert.True(m.SamplingRounds >= 2);
        }
        // With no chance of a mixed group, every round is spent and nothing is trained.
        var hopeless = Train(spec with { DynamicSampling = new DynamicSamplingSpec { MaxExtraRounds = 2 } }, 1,
            new AlwaysWrong()).Metrics[0];
        Assert.Equal((3, 24, 0), (hopeless.SamplingRounds, hopeless.DroppedGroups, hopeless.TrainedGroups));
    }

    private sealed class AlwaysWrong : IRewardFunction
    {
        public CompletionScore Score(Problem problem, ReadOnlySpan<long> answer, bool stopped) => new(false, true, 0);
    }

    [Fact]
    public void HintsNeedTheMarkerInTheVocabularyAndAreCounted()
    {
        var hinted = Easy with { Hints = new HintSpec { Fraction = 1.0 } };
        Assert.Contains("vocab >= 8", Assert.Throws<ArgumentException>(() => Train(hinted, 1)).Message);
        var metrics = Train(hinted, 1, vocab: 8).Metrics[0];
        Assert.Equal(1.0, metrics.HintedFraction);
        Assert.Equal(0.0, Train(Easy with { Hints = new HintSpec { Fraction = 0.5 } }, 1, vocab: 8).Metrics[0].HintedFraction); // floor(0.5) = 0
    }

    [Fact]
    public void AResumedRunRepeatsTheUninterruptedOne()
    {
        using var scope = NewDisposeScope();
        var (_, uninterrupted) = Train(Easy, 3);

        using var policy = Policy();
        using var optimizer = Adam(policy);
        var state = new MemoryStream();
        using (var trainer = new RlTrainer(Easy, policy, optimizer, Task, seed: 5, reward: new TokenThreeIsRight()))
        {
            trainer.Step();
            using var writer = new BinaryWriter(state, System.Text.Encoding.UTF8, leaveOpen: true);
            trainer.SaveState(writer);
            optimizer.SaveState(writer);
        }
        using var resumed = Policy();
        using (no_grad())
            foreach (var (target, source) in resumed.parameters().Zip(policy.parameters())) target.copy_(source);
        using var resumedOptimizer = Adam(resumed);
        using var resumedTrainer = new RlTrainer(Easy, resumed, resumedOptimizer, Task, seed: 999, reward: new TokenThreeIsRight());
        state.Position = 0;
        using (var reader = new BinaryReader(state))
        {
            resumedTrainer.LoadState(reader);
            resumedOptimizer.LoadState(reader);
        }
        Assert.Equal(1, resumedTrainer.StepCount);
        resumedTrainer.Step();
        resumedTrainer.Step();
        Assert.Equal(uninterrupted, Weights(resumed));
    }

    /// <summary>Right exactly when the completion stopped (emitted the stop token).</summary>
    private sealed class StoppedIsRight : IRewardFunction
    {
        public CompletionScore Score(Problem problem, ReadOnlySpan<long> answer, bool stopped) =>
            stopped ? new(true, true, 1) : new(false, false, 0);
    }

    [Fact]
    public void TruncatedCompletionsAreCountedAndCanBeMaskedOut()
    {
        // One new token and stop token 3: a completion is truncated exactly when it is not 3, i.e. when it is wrong.
        var spec = Easy with { StopToken = 3, MaxNewTokens = 1, MaskTruncated = true };
        var (metrics, masked) = Train(spec, 2, new StoppedIsRight());
        Assert.All(metrics, m => Assert.Equal(1.0, m.TruncatedFraction + m.Accuracy, 12));
        Assert.All(metrics, m => Assert.True(m.TruncatedFraction > 0 && m.TruncatedFraction < 1));
        var (_, unmasked) = Train(spec with { MaskTruncated = false }, 2, new StoppedIsRight());
        Assert.NotEqual(masked, unmasked);
    }
}
