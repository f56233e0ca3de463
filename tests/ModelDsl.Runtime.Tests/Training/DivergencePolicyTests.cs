using ModelDsl.Core;
using ModelDsl.Core.Model;
using ModelDsl.Core.Tasks;
using ModelDsl.Core.Training;
using ModelDsl.Core.Validation;
using ModelDsl.Runtime.Runs;
using ModelDsl.Runtime.Training;

namespace ModelDsl.Runtime.Tests.Training;

/// <summary>The divergence policy (TrainingSpec.Divergence): stop, skip and rollback on a poisoned step of a tiny compiled model.</summary>
public sealed class DivergencePolicyTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("divergence-").FullName;
    public void Dispose() => Directory.Delete(root, recursive: true);

    private static ExperimentSpec Spec(DivergenceSpec divergence, int steps = 8, int checkpointEvery = 2) => new()
    {
        Name = "diverge",
        Model = ModelSpec.Llama(vocab: SparseParity.Vocabulary, width: 16, depth: 1, heads: 2) with { MaxSequenceLength = 32 },
        Task = new SparseParity { Bits = 8, Secret = 2 },
        Training = new TrainingSpec
        {
            Optimizer = new AdamW { Lr = 1e-2 },
            Schedule = new WarmupCosine { WarmupFraction = 0.25 },
            Budget = new StepBudget(steps),
            GlobalBatch = 8,
            MicroBatch = 8, // one forward per step: forward k is step k
            Eval = new EvalSpec { Every = 0, Batches = 1, Problems = 0 },
            Checkpoint = new CheckpointSpec { Every = checkpointEvery, Keep = 10 },
            Divergence = divergence,
            Seed = 5,
        },
    };

    private (TrainResult Result, PoisonedModel Model, List<string> Warnings) Train(ExperimentSpec spec, string name, Poison poison, params int[] forwards)
    {
        PoisonedModel? built = null;
        var warnings = new List<string>();
        var result = Trainer.Run(spec, new TrainOptions { RunDirectory = Path.Combine(root, name), OnWarning = warnings.Add },
            PoisonedModel.Factory(poison, forwards, m => built = m));
        return (result, built!, warnings);
    }

    private static IReadOnlyList<long> CheckpointSteps(string runDirectory) =>
        new CheckpointStore(Path.Combine(runDirectory, "checkpoints"), 10).List().Select(c => c.Step).ToList();

    [Theory]
    [InlineData(Poison.NaNLoss, "the loss is NaN")]
    [InlineData(Poison.NaNGradient, "the gradient norm is NaN")]
    public void StopEndsTheRunBeforeTheBadUpdateAndCheckpointsNothingOfIt(Poison poison, string problem)
    {
        var spec = Spec(new DivergenceSpec());
        var clean = Trainer.Run(spec, new TrainOptions { RunDirectory = Path.Combine(root, "clean") });
        var (result, model, _) = Train(spec, "stopped", poison, 5);

        Assert.NotNull(result.Divergence);
        Assert.Equal(5, result.Divergence!.Step);
        Assert.Contains(problem, result.Divergence.Message);
        Assert.Contains("training diverged at step 5", result.Divergence.Message);
        Assert.Equal(4, result.Steps);
        Assert.Equal(clean.TrainLosses.Take(4), result.TrainLosses); // the check changes no finite step
        Assert.Null(Checkpoint.FirstNonFinite(model, null)); // the NaN gradients never reached the weights
        Assert.Equal([2L, 4L], CheckpointSteps(result.RunDirectory));
        var summary = RunSummary.Read(Path.Combine(result.RunDirectory, "summary.json"));
        Assert.Equal(RunSummary.Diverged, summary.Status);
        Assert.Contains("step 5", summary.Message);
        Assert.Contains(MetricsLog.Read(Path.Combine(result.RunDirectory, "metrics.jsonl")),
            e => (string?)e["event"] == "diverged" && e["step"]!.GetValue<long>() == 5);
    }

    [Fact]
    public void SkipDropsTheBadStepRecordsItsNaNLossAndFinishes()
    {
        var spec = Spec(new DivergenceSpec { Mode = DivergenceMode.Skip });
        var clean = Trainer.Run(spec, new TrainOptions { RunDirectory = Path.Combine(root, "clean") });
        var (result, model, warnings) = Train(spec, "skipped", Poison.NaNLoss, 5);

        Assert.Null(result.Divergence);
        Assert.Equal(8, result.Steps);
        Assert.Equal(clean.TrainLosses.Take(4), result.TrainLosses.Take(4));
        Assert.True(double.IsNaN(result.TrainLosses[4]));
        Assert.All(result.TrainLosses.Skip(5), l => Assert.True(double.IsFinite(l)));
        Assert.Contains(warnings, w => w.Contains("step 5") && w.Contains("skipped"));
        // The final checkpoint's header carries the NaN loss of the skipped step and reads back.
        var header = Checkpoint.ReadHeader(new CheckpointStore(Path.Combine(result.RunDirectory, "checkpoints"), 10).PathFor(8));
        Assert.True(double.IsNaN(header.TrainLosses[4]));
        Assert.Equal(result.TrainLosses.Where(double.IsFinite), header.TrainLosses.Where(double.IsFinite));
        Assert.Null(Checkpoint.FirstNonFinite(model, null));
    }

    [Fact]
    public void RollbackReloadsTheLastGoodCheckpointWithAScaledLearningRate()
    {
        var spec = Spec(new DivergenceSpec { Mode = DivergenceMode.Rollback, RollbackLrScale = 0.5 });
        var clean = Trainer.Run(spec, new TrainOptions { RunDirectory = Path.Combine(root, "clean") });
        var (result, model, warnings) = Train(spec, "rolled", Poison.NaNLoss, 5);

        Assert.Null(result.Divergence);
        Assert.Equal(8, result.Steps);
        Assert.Equal(clean.TrainLosses.Take(4), result.TrainLosses.Take(4));
        Assert.All(result.TrainLosses, l => Assert.True(double.IsFinite(l)));
        Assert.Equal(9, model.TrainingForwards); // steps 1-4, the poisoned attempt at step 5, then steps 5-8 from the step-4 checkpoint
        Assert.Contains(warnings, w => w.Contains("rolled back to step 4"));
        var header = Checkpoint.ReadHeader(new CheckpointStore(Path.Combine(result.RunDirectory, "checkpoints"), 10).PathFor(8));
        Assert.Equal(0.5, header.LrScale);
        Assert.Equal(1, header.Rollbacks);
        var events = MetricsLog.Read(Path.Combine(result.RunDirectory, "metrics.jsonl"));
        Assert.Single(events, e => (string?)e["event"] == "rollback");
        // One train event per step: the log reads as if the bad step had not happened.
        Assert.Equal(Enumerable.Range(1, 8).Select(i => (long)i),
            events.Where(e => (string?)e["event"] == "train").Select(e => e["step"]!.GetValue<long>()));
        // After the rollback the learning rate is half the schedule's.
        var lr = events.Where(e => (string?)e["event"] == "train").Select(e => e["lr"]!.GetValue<double>()).ToList();
        var cleanLr = MetricsLog.Read(Path.Combine(clean.RunDirectory, "metrics.jsonl")).Where(e => (string?)e["event"] == "train")
            .Select(e => e["lr"]!.GetValue<double>()).ToList();
        Assert.Equal(cleanLr[5] * 0.5, lr[5], 15);
    }

    [Fact]
    public void RollbackWithoutACheckpointStopsAsDiverged()
    {
        var (result, _, _) = Train(Spec(new DivergenceSpec { Mode = DivergenceMode.Rollback }, checkpointEvery: 0), "nothing", Poison.NaNLoss, 3);
        Assert.NotNull(result.Divergence);
        Assert.Equal(3, result.Divergence!.Step);
        Assert.Contains("no checkpoint to roll back to", result.Divergence.Message);
    }

    [Fact]
    public void RollbackGivesUpAfterMaxRollbacks()
    {
        // Every attempt at step 5 and after is poisoned: two rollbacks, then the run stops.
        var (result, _, _) = Train(Spec(new DivergenceSpec { Mode = DivergenceMode.Rollback, MaxRollbacks = 2 }), "again", Poison.NaNLoss, 5, 6, 7);
        Assert.NotNull(result.Divergence);
        Assert.Contains("after 2 rollbacks", result.Divergence!.Message);
        Assert.Equal(4, result.Steps);
    }

    [Fact]
    public void SkipOnASpikeAboveMeanPlusKSigma()
    {
        var spec = Spec(new DivergenceSpec { Mode = DivergenceMode.Skip, SpikeSigma = 6, SpikeWindow = 3 });
        var (result, _, warnings) = Train(spec, "spike", Poison.Spike, 6);
        Assert.Null(result.Divergence);
        var skipped = MetricsLog.Read(Path.Combine(result.RunDirectory, "metrics.jsonl")).Where(e => (string?)e["event"] == "divergence").ToList();
        Assert.Contains(skipped, e => e["step"]!.GetValue<long>() == 6 && ((string?)e["problem"])!.Contains("spiked"));
        Assert.True(double.IsFinite(result.TrainLosses[5]));
    }

    [Fact]
    public void GuardReplayRebuildsTheSpikeWindowFromRecordedLosses()
    {
        var spec = new DivergenceSpec { Mode = DivergenceMode.Skip, SpikeSigma = 2, SpikeWindow = 3 };
        double[] losses = [3.0, 2.9, double.NaN, 2.8, 9.0, 2.7];
        var live = new DivergenceGuard(spec);
        var verdicts = losses.Select(l => live.Assess(l, 1.0)).ToList();
        Assert.Null(verdicts[0]);
        Assert.NotNull(verdicts[2]); // NaN
        Assert.Contains("spiked", verdicts[4]); // 9 > mean(3, 2.9, 2.8) + 2 sigma
        var replayed = new DivergenceGuard(spec);
        replayed.Replay(losses);
        // Both now judge the next loss against the same window (2.9, 2.8, 2.7): mean 2.8, sigma 0.0816...
        var next = live.Assess(2.99, 1.0);
        Assert.Contains("spiked above 2.96", next);
        Assert.Equal(next, replayed.Assess(2.99, 1.0));
        Assert.Null(new DivergenceGuard(spec with { SpikeWindow = 3 }).Assess(2.95, 1.0));
    }

    [Fact]
    public void PolicyIsValidatedWithPaths()
    {
        var v = new Validator();
        new DivergenceSpec { SpikeSigma = 3, RollbackLrScale = 1.5, SpikeWindow = 1, MaxRollbacks = 0 }.Validate(v, "training.divergence");
        var paths = v.Errors.Select(e => e.Path).ToList();
        Assert.Contains("training.divergence.spikeSigma", paths); // spikes need skip or rollback
        Assert.Contains("training.divergence.rollbackLrScale", paths);
        Assert.Contains("training.divergence.spikeWindow", paths);
        Assert.Contains("training.divergence.maxRollbacks", paths);
        Assert.DoesNotContain(new ExperimentSpec { Name = "x", Model = ModelSpec.Llama(8, 16, 1, 2) }.Validate(),
            e => e.Path.StartsWith("training.divergence"));
    }
}
