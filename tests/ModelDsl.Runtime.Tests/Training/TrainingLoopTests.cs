using ModelDsl.Core;
using ModelDsl.Core.Model;
using ModelDsl.Core.Tasks;
using ModelDsl.Core.Training;
using ModelDsl.Core.Validation;
using ModelDsl.Runtime.Runs;
using ModelDsl.Runtime.Training;

namespace ModelDsl.Runtime.Tests.Training;

/// <summary>The training loop's bookkeeping, on a one-layer compiled transformer small enough that each run takes about a second.</summary>
public sealed class TrainingLoopTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("runs-").FullName;
    public void Dispose() => Directory.Delete(root, recursive: true);

    private static ExperimentSpec Spec(int steps = 12, int checkpointEvery = 3, Precision precision = Precision.Float32) => new()
    {
        Name = "loop",
        Model = ModelSpec.Llama(vocab: SparseParity.Vocabulary, width: 16, depth: 1, heads: 2) with { MaxSequenceLength = 32 },
        Task = new SparseParity { Bits = 8, Secret = 2 },
        Training = new TrainingSpec
        {
            Optimizer = new AdamW { Lr = 1e-2, WeightDecay = 0.1 },
            Schedule = new WarmupCosine { WarmupFraction = 0.25, MinRatio = 0.1 },
            Budget = new StepBudget(steps),
            GlobalBatch = 16,
            MicroBatch = 8,
            ClipGradNorm = 0.5,
            Eval = new EvalSpec { Every = 4, Batches = 2, Problems = 16 },
            Checkpoint = new CheckpointSpec { Every = checkpointEvery, Keep = 2 },
            Seed = 3,
            Precision = precision,
        },
    };

    [Fact]
    public void ResumedRunReproducesTheUninterruptedLossesExactly()
    {
        var spec = Spec();
        var straight = Trainer.Run(spec, new TrainOptions { RunDirectory = Path.Combine(root, "straight") });

        var resumedPath = Path.Combine(root, "resumed");
        var first = Trainer.Run(spec, new TrainOptions { RunDirectory = resumedPath, StopAfterStep = 7 });
        Assert.Equal(7, first.Steps);
        // Step 7 was not checkpointed (every 3), so the resume starts from step 6 and redoes step 7.
        var resumed = Trainer.Run(spec, new TrainOptions { RunDirectory = resumedPath });

        Assert.Equal(12, straight.TrainLosses.Count);
        Assert.Equal(straight.TrainLosses, resumed.TrainLosses); // bit-identical doubles
        Assert.Equal(straight.FinalEval.ValidationLoss, resumed.FinalEval.ValidationLoss);
        Assert.Equal(straight.FinalEval.Accuracy, resumed.FinalEval.Accuracy);
        // The metrics log reads as if the run had never stopped: one train event per step.
        var trainEvents = MetricsLog.Read(Path.Combine(resumedPath, "metrics.jsonl")).Where(e => (string?)e["event"] == "train").ToList();
        Assert.Equal(Enumerable.Range(1, 12).Select(i => (long)i), trainEvents.Select(e => e["step"]!.GetValue<long>()));
        Assert.Equal(straight.TrainLosses, trainEvents.Select(e => e["loss"]!.GetValue<double>()));
    }

    [Fact]
    public void RunDirectoryHoldsSpecMetricsCheckpointsSummaryAndPlot()
    {
        var evals = new List<EvalResult>();
        var progress = new List<TrainProgress>();
        var result = Trainer.Run(Spec(steps: 10), new TrainOptions { RunsRoot = root, OnEval = evals.Add, OnProgress = progress.Add });

        Assert.Matches(@"loop-\d{8}-\d{6}$", result.RunDirectory);
        Assert.Equal(Spec(steps: 10), ModelDsl.Core.Json.SpecJson.LoadExperiment(Path.Combine(result.RunDirectory, "spec.json")));
        Assert.Equal([4L, 8L, 10L], evals.Select(e => e.Step)); // every 4 steps and always at the end
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), progress.Select(p => p.Step));
        Assert.All(progress, p => Assert.True(p.GradNorm > 0 && p.LearningRate > 0));
        // Throughput is the tokens trained so far over the time taken: 16 sequences of 8 bits + 2 answer tokens per step.
        Assert.All(progress, p => Assert.Equal(p.Step * 16 * 10, p.TokensPerSecond * p.Elapsed.TotalSeconds, 1e-3 * p.Step * 16 * 10));
        Assert.Equal(TimeSpan.Zero, progress[^1].Eta);
        var checkpoints = new CheckpointStore(Path.Combine(result.RunDirectory, "checkpoints"), 2).List();
        Assert.Equal([9L, 10L], checkpoints.Select(c => c.Step)); // every 3 plus the end, newest 2 kept
        var summary = RunSummary.Read(Path.Combine(result.RunDirectory, "summary.json"));
        Assert.Equal(10, summary.Steps);
        Assert.Equal(10 * 16 * 10, summary.Tokens); // steps x global batch x (8 bits + 2 answer tokens)
        Assert.Equal(result.FinalTrainLoss, summary.FinalTrainLoss);
        Assert.Equal(evals[^1].ValidationLoss, summary.ValidationLoss);
        Assert.NotNull(summary.Accuracy);
        var png = File.ReadAllBytes(Path.Combine(result.RunDirectory, "plots", "loss.png"));
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
    }

    [Fact]
    public void LoggedLearningRatesFollowTheSchedule()
    {
        var progress = new List<TrainProgress>();
        var spec = Spec(steps: 8);
        Trainer.Run(spec, new TrainOptions { RunsRoot = root, OnProgress = progress.Add });
        // Warmup fraction 0.25 of 8 steps: 2 linear warmup steps (1/2, then the peak), then half a cosine
        // period from the peak at step 2 to MinRatio 0.1 at step 7: 0.1 + 0.45 (1 + cos(pi (i - 2) / 5)).
        double[] expected = [0.005, 0.01, 0.01, 0.009140576474687263, 0.006890576474687263, 0.004109423525312738, 0.0018594235253127373, 0.001];
        for (var i = 0; i < 8; i++)
            Assert.Equal(expected[i], progress[i].LearningRate, 15);

    }

    [Fact]
    public void CancellationCheckpointsTheCurrentStepAndTheRunResumesFromIt()
    {
        var spec = Spec(steps: 8, checkpointEvery: 0);
        var straight = Trainer.Run(spec, new TrainOptions { RunDirectory = Path.Combine(root, "straight") });
        var path = Path.Combine(root, "cancelled");
        using var cancellation = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => Trainer.Run(spec, new TrainOptions
        {
            RunDirectory = path,
            Cancellation = cancellation.Token,
            OnProgress = p => { if (p.Step == 5) cancellation.Cancel(); },
        }));
        Assert.Equal([5L], new CheckpointStore(Path.Combine(path, "checkpoints"), 1).List().Select(c => c.Step));
        var resumed = Trainer.Run(spec, new TrainOptions { RunDirectory = path });
        Assert.Equal(straight.TrainLosses, resumed.TrainLosses);
    }

    [Fact]
    public void ADifferentSpecCannotResumeAnExistingRunDirectory()
    {
        var path = Path.Combine(root, "run");
        Trainer.Run(Spec(steps: 3), new TrainOptions { RunDirectory = path });
        var other = Spec(steps: 3) with { Task = new SparseParity { Bits = 9, Secret = 2 } };
        var e = Assert.Throws<InvalidOperationException>(() => Trainer.Run(other, new TrainOptions { RunDirectory = path }));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void AFailingPlotIsReportedAndDoesNotFailAFinishedRun()
    {
        var path = Path.Combine(root, "no-plots");
        Directory.CreateDirectory(Path.Combine(path, "plots", "loss.png"));   // a folder where the image should go
        var warnings = new List<string>();
        var result = Trainer.Run(Spec(steps: 4), new TrainOptions { RunDirectory = path, OnWarning = warnings.Add });
        Assert.Equal(4, result.Steps);
        Assert.True(File.Exists(Path.Combine(path, "summary.json")));
        Assert.Contains(warnings, w => w.Contains("loss plot") && w.Contains("was not written"));
    }

    [Fact]
    public void InvalidSpecsAndUnsupportedPrecisionAreRejectedBeforeTraining()
    {
        var bad = Spec() with { Training = Spec().Training with { GlobalBatch = 10, MicroBatch = 4 } };
        Assert.Throws<SpecValidationException>(() => Trainer.Run(bad, new TrainOptions { RunsRoot = root }));
        var mixed = Spec(precision: Precision.BFloat16Mixed);
        var refused = Assert.Throws<SpecValidationException>(() => Trainer.Run(mixed, new TrainOptions { RunsRoot = root }));
        Assert.Contains(refused.Errors, e => e.Path == "training.precision" && e.Message.Contains("bFloat16Mixed"));
        Assert.Empty(Directory.GetDirectories(root));
    }
}
