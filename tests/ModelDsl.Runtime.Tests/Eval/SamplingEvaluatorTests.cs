using ModelDsl.Core.FineTune;
using ModelDsl.Core.Generation;
using ModelDsl.Core.Model;
using ModelDsl.Core.Tasks;
using ModelDsl.Runtime.Compile;
using ModelDsl.Runtime.Eval;
using ModelDsl.Runtime.Tasks;
using static TorchSharp.torch;
using TaskFactory = ModelDsl.Runtime.Tasks.TaskFactory;
using ModelDsl.Runtime.Model;

namespace ModelDsl.Runtime.Tests.Eval;

public sealed class SamplingEvaluatorTests
{
    private static readonly ChainedArithmetic Arithmetic = new() { Modulus = 3, Steps = 2 };
    private static ChainedArithmeticTask Task => (ChainedArithmeticTask)TaskFactory.Create(Arithmetic, 2);

    private static LanguageModel Model(ScalarType dtype = ScalarType.Float32) =>
        ModelCompiler.Build(ModelSpec.Llama(vocab: Arithmetic.VocabularySize(), width: 16, depth: 1, heads: 2) with { MaxSequenceLength = 8 }, dtype, seed: 5);

    [Fact]
    public void SamplesAreDeterministicPerSeedAndScoredByTheTask()
    {
        using var model = Model();
        var task = Task;
        var problems = task.EvalProblems(5);
        var sampling = new SamplingSpec { Temperature = 1.0 };
        var first = CompletionSampler.Sample(model, task, problems, 6, sampling, seed: 1, batchSize: 7);
        var again = CompletionSampler.Sample(model, task, problems, 6, sampling, seed: 1, batchSize: 7);
        var other = CompletionSampler.Sample(model, task, problems, 6, sampling, seed: 2, batchSize: 7);
        Assert.Equal(first.SelectMany(p => p.Completions.SelectMany(c => c)), again.SelectMany(p => p.Completions.SelectMany(c => c)));
        Assert.NotEqual(first.SelectMany(p => p.Completions.SelectMany(c => c)), other.SelectMany(p => p.Completions.SelectMany(c => c)));
        foreach (var problem in first)
            for (var s = 0; s < problem.Count; s++)
            {
                Assert.Equal(task.CompletionLength, problem.Completions[s].Length);
                Assert.Equal(task.Verify(problem.Problem, problem.Completions[s]), problem.Correct[s]);
                // The final answer is the last answer token, and it decides the verdict.
                Assert.Equal(problem.Completions[s][^1].ToString(), problem.FinalAnswers[s]);
                Assert.Equal(problem.FinalAnswers[s] == task.FinalAnswer(problem.Problem).ToString(), problem.Correct[s]);
            }
    }

    [Fact]
    public void GreedySamplingRepeatsTheGreedyCompletion()
    {
        using var model = Model();
        var task = Task;
        var problems = task.EvalProblems(3);
        var samples = CompletionSampler.Sample(model, task, problems, 4, new SamplingSpec { Temperature = 0 }, seed: 1, batchSize: 5);
        for (var i = 0; i < problems.Count; i++)
        {
            using var prompt = tensor(problems[i].Prompt, [1, problems[i].Prompt.Length]);
            using var greedy = ModelDsl.Runtime.Generation.Generator.Generate(model, prompt, task.CompletionLength, new SamplingSpec { Temperature = 0 });
            var expected = greedy[0].slice(0, problems[i].Prompt.Length, greedy.shape[1], 1).data<long>().ToArray();
            Assert.All(samples[i].Completions, c => Assert.Equal(expected, c));
            Assert.Equal(1, samples[i].DistinctAnswers);
        }
    }

    [Fact]
    public void LogProbabilitiesMatchATokenByTokenReference()
    {
        using var model = Model(ScalarType.Float64);
        var task = Task;
        var problems = task.EvalProblems(2);
        var samples = CompletionSampler.Sample(model, task, problems, 3, new SamplingSpec { Temperature = 1.5 }, seed: 4, batchSize: 4);
        foreach (var problem in samples)
            for (var s = 0; s < problem.Count; s++)
            {
                long[] sequence = [.. problem.Problem.Prompt, .. problem.Completions[s]];
                var expected = 0.0;
                for (var t = problem.Problem.Prompt.Length; t < sequence.Length; t++)
                {
                    using var prefix = tensor(sequence[..t], [1, t]);
                    using var logits = model.forward(prefix);
                    using var logProbabilities = logits[0, t - 1].log_softmax(0);
                    expected += logProbabilities[sequence[t]].item<double>();
                }
                Assert.Equal(expected, problem.LogProbabilities[s], 10);
                Assert.True(problem.LogProbabilities[s] < 0);
            }
    }

    [Fact]
    public void EvaluationScoresAreConsistentAndInRange()
    {
        using var model = Model();
        var spec = new SamplingEvalSpec { Problems = 12, Samples = 8, Ks = new[] { 1, 2, 4, 8 }, Seed = 3, BatchSize = 32 };
        var result = SamplingEvaluator.Evaluate(model, Task, spec);
        Assert.Equal(12, result.Problems);
        Assert.Equal(8, result.SamplesPerProblem);
        Assert.Equal(12, result.PassRates.Histogram.Sum());
        Assert.InRange(result.DistinctAnswerFraction, 1.0 / 8, 1.0);
        Assert.Equal(result.PassRates.Mean, result.At(1).PassAtK, 12);        // unbiased pass@1 = mean c / n
        Assert.Equal(result.At(1).PassAtK, result.At(1).MajorityAtK, 12);     // one vote is the sample itself
        Assert.Equal(result.At(1).PassAtK, result.At(1).BestByLogProbabilityAtK, 12);
        SamplingScore? previous = null;
        foreach (var score in result.Scores)
        {
            Assert.InRange(score.PassAtK, 0, 1);
            Assert.InRange(score.MajorityAtK, 0, 1);
            Assert.InRange(score.BestByLogProbabilityAtK, 0, 1);
            Assert.True(score.MajorityAtK <= score.PassAtK + 1e-12);            // a vote needs a correct sample
            Assert.True(score.BestByLogProbabilityAtK <= score.PassAtK + 1e-12);
            if (previous is not null) Assert.True(score.PassAtK >= previous.PassAtK);
            previous = score;
        }
        // The same samples scored again give the same numbers.
        var rescored = SamplingEvaluator.Score(result.PerProblem, spec.Ks, seed: spec.Seed);
        Assert.Equal(result.Scores, rescored.Scores);
    }

    [Fact]
    public void PlotsAreWrittenAsNonEmptyPngs()
    {
        var directory = Directory.CreateTempSubdirectory("sampling-plots-").FullName;
        try
        {
            var passAtK = Path.Combine(directory, "pass_at_k.png");
            SamplingPlots.SavePassAtK(passAtK, [
                ("early", [(1, 0.2), (2, 0.35), (4, 0.5), (8, 0.62)]),
                ("late", [(1, 0.3), (2, 0.38), (4, 0.44), (8, 0.48)]),
            ]);
            var histogram = Path.Combine(directory, "plots", "rho.png");
            SamplingPlots.SavePassRateHistogram(histogram, PassRateStatistics.From([(0, 8), (2, 8), (8, 8), (5, 8)]));
            foreach (var file in new[] { passAtK, histogram })
            {
                var bytes = File.ReadAllBytes(file);
                Assert.True(bytes.Length > 1000, $"{file}: {bytes.Length} bytes");
                Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
