using ModelDsl.Core.FineTune;
using ModelDsl.Runtime.Eval;
using ModelDsl.Runtime.FineTune;
using ModelDsl.Runtime.Training;
using static ModelDsl.Runtime.Tests.FineTune.FineTuneFixtures;
using TaskFactory = ModelDsl.Runtime.Tasks.TaskFactory;

namespace ModelDsl.Runtime.Tests.FineTune;

/// <summary>Pre-train, fine-tune from the saved run, interpolate with the start, and evaluate by sampling.</summary>
public sealed class WiseFtEndToEndTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("wise-ft-").FullName;
    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void FineTuneInterpolateAndSampleRunsWithNumbersInRange()
    {
        var pretrain = Experiment(steps: 8);
        var start = Trainer.Run(pretrain, new TrainOptions { RunDirectory = Path.Combine(directory, "start") }).RunDirectory;
        var sftSpec = Experiment(steps: 6, lr: 5e-3) with { Name = "sft" };
        var tuned = SupervisedFineTuning.Run(sftSpec, new SftSpec { Source = new RunSource { Path = start } },
            new TrainOptions { RunDirectory = Path.Combine(directory, "sft") });
        Assert.True(tuned.TrainLosses[^1] < tuned.TrainLosses[0], $"fine-tuning loss {tuned.TrainLosses[0]} -> {tuned.TrainLosses[^1]}");

        var mixed = Path.Combine(directory, "wise");
        WeightInterpolation.Write(start, tuned.RunDirectory, 0.5, mixed);

        var task = TaskFactory.Create(sftSpec.Task, sftSpec.Training.Seed);
        var evaluation = new SamplingEvalSpec { Problems = 8, Samples = 8, Ks = new[] { 1, 2, 4, 8 }, Seed = 1, BatchSize = 64 };
        var curves = new List<(string, IReadOnlyList<(int, double)>)>();
        foreach (var (label, run) in new[] { ("start", start), ("sft", tuned.RunDirectory), ("wise-ft 0.5", mixed) })
        {
            using var model = ModelLoader.Load(new RunSource { Path = run }, sftSpec.Model);
            var result = SamplingEvaluator.Evaluate(model, task, evaluation);
            Assert.All(result.Scores, s =>
            {
                Assert.InRange(s.PassAtK, 0, 1);
                Assert.InRange(s.MajorityAtK, 0, 1);
                Assert.InRange(s.Decomposition.VariancePart, -1e-12, 1);
            });
            Assert.True(result.At(8).PassAtK >= result.At(1).PassAtK);
            Assert.InRange(result.PassRates.Variance, 0, 0.25);
            curves.Add((label, result.Scores.Select(s => (s.K, s.PassAtK)).ToList()));
        }
        var plot = Path.Combine(directory, "pass_at_k.png");
        SamplingPlots.SavePassAtK(plot, curves);
        Assert.True(new FileInfo(plot).Length > 1000);
    }
}
