using System.Text.Json.Nodes;
using ModelDsl.Core;
using ModelDsl.Core.FineTune;
using ModelDsl.Core.Rl;
using ModelDsl.Core.Training;
using ModelDsl.Runtime.Runs;
using ModelDsl.Runtime.Training;
using static ModelDsl.Runtime.Tests.FineTune.FineTuneFixtures;

namespace ModelDsl.Runtime.Tests.Rl;

/// <summary>RL runs hold the run lock and follow the divergence policy: nothing non-finite is applied or checkpointed.</summary>
public sealed class RlDivergenceTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("rldiverge-").FullName;
    public void Dispose() => Directory.Delete(directory, recursive: true);

    private string Pretrained()
    {
        var path = Path.Combine(directory, "pretrained");
        Trainer.Run(Experiment(steps: 3), new TrainOptions { RunDirectory = path });
        return path;
    }

    private static ExperimentSpec Rl(string source, double lr, int steps = 6) => Experiment(steps: steps, lr: lr) with
    {
        Name = "rl",
        Init = new RunSource { Path = source },
        Rl = new RlSpec { GroupSize = 4, PromptsPerStep = 2, MicroBatch = 8 },
        Training = Experiment(steps: steps, lr: lr).Training with
        {
            Eval = new EvalSpec { Every = 0, Batches = 1, Problems = 2 },
            Checkpoint = new CheckpointSpec { Every = 1, Keep = 10 },
            ClipGradNorm = null,
        },
    };

    [Fact]
    public void AnExplodingRlRunStopsAsDivergedWithOnlyFiniteCheckpoints()
    {
        var source = Pretrained();
        var runPath = Path.Combine(directory, "rl");
        // A learning rate of 1e30 makes the first update's weights astronomically large: the next step cannot be trained.
        var result = Trainer.Run(Rl(source, lr: 1e30), new TrainOptions { RunDirectory = runPath, OnWarning = _ => { } });

        Assert.NotNull(result.Divergence);
        Assert.True(result.Steps < 6, $"stopped at step {result.Steps}");
        var summary = RunSummary.Read(Path.Combine(runPath, "summary.json"));
        Assert.Equal(RunSummary.Diverged, summary.Status);
        Assert.Equal(result.Steps, summary.Steps);
        var events = MetricsLog.Read(Path.Combine(runPath, "metrics.jsonl"));
        Assert.Contains(events, e => (string?)e["event"] == "diverged");
        Assert.False(File.Exists(Path.Combine(runPath, RunLock.FileName)), "the lock is released");

        var store = new CheckpointStore(Path.Combine(runPath, "checkpoints"), 10);
        Assert.All(store.List(), c => Assert.True(c.Step <= result.Steps, $"checkpoint of step {c.Step} after the last applied step {result.Steps}"));
        using var model = ModelDsl.Runtime.Compile.ModelCompiler.Build(Rl(source, 1e30).Model);
        foreach (var (_, path) in store.List())
        {
            Checkpoint.Load(path, model, optimizer: null, expectedSpecJson: null);
            Assert.Null(Checkpoint.FirstNonFinite(model, null));
        }
    }

    [Fact]
    public void AFiniteRlRunIsUnchangedByTheGuard()
    {
        var source = Pretrained();
        var result = Trainer.Run(Rl(source, lr: 3e-3, steps: 2), new TrainOptions { RunDirectory = Path.Combine(directory, "fine") });
        Assert.Null(result.Divergence);
        Assert.Equal(2, result.Steps);
        Assert.Empty(MetricsLog.Read(Path.Combine(result.RunDirectory, "metrics.jsonl")).Where(e => (string?)e["event"] is "divergence" or "diverged"));
    }

    [Fact]
    public void ASecondProcessIsRefusedTheRunDirectoryOfAnRlRun()
    {
        var source = Pretrained();
        var runPath = Path.Combine(directory, "held");
        Directory.CreateDirectory(runPath);
        using var held = RunLock.Acquire(runPath);
        var error = Assert.Throws<RunLockedException>(() => Trainer.Run(Rl(source, lr: 3e-3, steps: 1), new TrainOptions { RunDirectory = runPath }));
        Assert.Contains(runPath, error.Message);
    }
}
