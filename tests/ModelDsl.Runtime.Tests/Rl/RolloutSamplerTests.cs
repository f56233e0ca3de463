using ModelDsl.Core.Generation;
using ModelDsl.Runtime.Compile;
using ModelDsl.Runtime.Rl;
using ModelDsl.Runtime.Tasks;
using ModelDsl.Runtime.Tests.Compile;
using TorchSharp;
using static TorchSharp.torch;
using ModelDsl.Runtime.Model;

namespace ModelDsl.Runtime.Tests.Rl;

public class RolloutSamplerTests
{
    private const long Stop = 2;

    /// <summary>Prompts of two lengths (two KV-cache groups), interleaved.</summary>
    private static List<RolloutPrompt> Prompts() =>
    [
        RolloutPrompt.Plain(new Problem([1, 4, 5], [])),
        RolloutPrompt.Plain(new Problem([7, 3, 3, 9, 1], [])),
        RolloutPrompt.Plain(new Problem([0, 12, 6], [])),
    ];

    private static RolloutBatch Sample(LanguageModel model, bool useCache, ulong seed = 17, long? stop = Stop) =>
        RolloutSampler.Sample(model, Prompts(), groupSize: 4, new SamplingSpec { Temperature = 1.3, TopP = 0.9 }, maxNewTokens: 9, stop,
            new torch.Generator(seed, torch.CPU), useCache);

    [Fact]
    public void CachedRolloutsEqualRecomputedOnesTokenForToken()
    {
        using var scope = NewDisposeScope();
        using var model = ModelCompiler.Build(TinyModels.GroupedQuery(), ScalarType.Float64, seed: 3);
        using var cached = Sample(model, useCache: true);
        using var recomputed = Sample(model, useCache: false);
        Assert.Equal([12L, 9], cached.Completions.shape);
        Assert.Equal(recomputed.Completions.data<long>().ToArray(), cached.Completions.data<long>().ToArray());
        Assert.Equal(recomputed.Mask.data<double>().ToArray(), cached.Mask.data<double>().ToArray());
        PolicyLossTests.AssertClose(recomputed.BehaviourLogProbs.data<double>().ToArray(), cached.BehaviourLogProbs.data<double>().ToArray(), 1e-10);

        using var again = Sample(model, useCache: true);
        using var otherSeed = Sample(model, useCache: true, seed: 18);
        Assert.Equal(cached.Completions.data<long>().ToArray(), again.Completions.data<long>().ToArray());
        Assert.NotEqual(cached.Completions.data<long>().ToArray(), otherSeed.Completions.data<long>().ToArray());
    }

    [Fact]
    public void TokensAfterTheStopTokenAreMaskedAndCompletionsWithoutItAreTruncated()
    {
        using var scope = NewDisposeScope();
        using var model = ModelCompiler.Build(TinyModels.GroupedQuery(), ScalarType.Float64, seed: 3);
        using var rollout = Sample(model, useCache: true);
        var tokens = rollout.Completions.data<long>().ToArray();
        var mask = rollout.Mask.data<double>().ToArray();
        int stopped = 0, truncated = 0;
        for (var r = 0; r < rollout.Rows; r++)
        {
            var row = tokens[(r * 9)..((r + 1) * 9)];
            var first = Array.IndexOf(row, Stop);
            Assert.Equal(first >= 0, rollout.Stopped[r]);
            Assert.Equal(first < 0, rollout.Truncated[r]);
            for (var k = 0; k < 9; k++) Assert.Equal(first < 0 || k <= first ? 1.0 : 0.0, mask[r * 9 + k]);
            Assert.Equal(first < 0 ? 9 : first + 1, rollout.Lengths[r]);
            Assert.Equal(first < 0 ? row : row[..first], rollout.Answer(r, Stop));
            if (first >= 0) { stopped++; Assert.All(row[first..], t => Assert.Equal(Stop, t)); }
            else truncated++;
        }
        Assert.True(stopped > 0 && truncated > 0, $"the case needs both kinds ({stopped} stopped, {truncated} truncated)");

        // Without a stop token nothing is masked and nothing is truncated.
        using var open = Sample(model, useCache: true, stop: null);
        Assert.Equal(1.0, open.Mask.min().item<double>());
        Assert.DoesNotContain(true, open.Truncated);
    }

    [Fact]
    public void RecordedLogProbsEqualAFreshForwardAtTheSamplingTemperature()
    {
        using var scope = NewDisposeScope();
        using var model = ModelCompiler.Build(TinyModels.GroupedQuery(), ScalarType.Float64, seed: 3);
        using var rollout = Sample(model, useCache: true);
        var recorded = rollout.BehaviourLogProbs.data<double>().ToArray();
        var mask = rollout.Mask.data<double>().ToArray();
        using (no_grad())
        {
            var (fresh, _) = PolicyForward.Run(model, rollout, 0, rollout.Rows, 1.3, withEntropy: false);
            var freshValues = fresh.data<double>().ToArray();
            for (var i = 0; i < recorded.Length; i++)
                if (mask[i] > 0) Assert.True(Math.Abs(recorded[i] - freshValues[i]) < 1e-10, $"position {i}: {recorded[i]} vs {freshValues[i]}");

            // Independently, for row 5 (prompt 1, five tokens): log softmax(logits / T) of a plain forward, by a scalar loop.
            var completion = rollout.Completions[5].data<long>().ToArray();
            var sequence = tensor(new long[] { 7, 3, 3, 9, 1 }.Concat(completion[..^1]).ToArray(), [1, 13], ScalarType.Int64);
            var logits = model.forward(sequence)[0];
            for (var k = 0; k < 9 && mask[5 * 9 + k] > 0; k++)
            {
                var row = logits[4 + k].data<double>().Select(v => v / 1.3).ToArray();
                var logNormalizer = Math.Log(row.Sum(Math.Exp));
                Assert.Equal(row[completion[k]] - logNormalizer, recorded[5 * 9 + k], 10);
            }
        }
    }

    [Fact]
    public void SelectingAndConcatenatingGroupsKeepsRowsTogether()
    {
        using var scope = NewDisposeScope();
        using var model = ModelCompiler.Build(TinyModels.GroupedQuery(), ScalarType.Float64, seed: 3);
        using var rollout = Sample(model, useCache: true);
        using var second = rollout.SelectGroups([2]);
        using var first = rollout.SelectGroups([0]);
        using var joined = RolloutBatch.Concat([second, first]);
        Assert.Equal(8, joined.Rows);
        Assert.Same(rollout.Prompts[2], joined.Prompts[0]);
        Assert.Equal(rollout.Completions.narrow(0, 8, 4).data<long>().ToArray(), joined.Completions.narrow(0, 0, 4).data<long>().ToArray());
        Assert.Equal(rollout.Completions.narrow(0, 0, 4).data<long>().ToArray(), joined.Completions.narrow(0, 4, 4).data<long>().ToArray());
        Assert.Equal(rollout.Stopped[8..12], joined.Stopped[..4]);
    }
}
