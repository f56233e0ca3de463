using System.Diagnostics;
using System.Text.Json;
using ModelDsl.Core;
using ModelDsl.Core.Json;
using ModelDsl.Core.Model;
using ModelDsl.Core.Tasks;
using ModelDsl.Core.Training;
using ModelDsl.Runtime.Optim;
using ModelDsl.Runtime.Parameters;
using ModelDsl.Runtime.Runs;
using ModelDsl.Runtime.Training;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tests.Runs;

/// <summary>Run directories under failure: locks, corrupt or foreign checkpoints, temporary files, torn metrics, non-finite state.</summary>
public sealed class RunRecoveryTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("recovery-").FullName;
    public void Dispose() => Directory.Delete(root, recursive: true);

    private static ExperimentSpec Spec(int steps = 4, int seed = 3) => new()
    {
        Name = "recover",
        Model = ModelSpec.Llama(vocab: SparseParity.Vocabulary, width: 16, depth: 1, heads: 2) with { MaxSequenceLength = 32 },
        Task = new SparseParity { Bits = 8, Secret = 2 },
        Training = new TrainingSpec
        {
            Optimizer = new AdamW { Lr = 1e-2 },
            Budget = new StepBudget(steps),
            GlobalBatch = 8,
            MicroBatch = 8,
            Eval = new EvalSpec { Every = 0, Batches = 1, Problems = 0 },
            Checkpoint = new CheckpointSpec { Every = 1, Keep = 5 },
            Seed = seed,
        },
    };

    private static string Checkpoints(string run) => Path.Combine(run, "checkpoints");

    [Fact]
    public void A_second_trainer_on_a_held_run_directory_is_refused_naming_the_holder()
    {
        var run = Path.Combine(root, "held");
        Directory.CreateDirectory(run);
        using var held = RunLock.Acquire(run); // this process, alive
        var e = Assert.Throws<RunLockedException>(() => Trainer.Run(Spec(), new TrainOptions { RunDirectory = run }));
        Assert.Contains($"process {Environment.ProcessId}", e.Message);
        Assert.Contains(Environment.MachineName, e.Message);
        Assert.Contains(run, e.Message);
    }

    [Fact]
    public void A_stale_lock_of_a_dead_process_is_taken_over_and_released_at_the_end()
    {
        var run = Path.Combine(root, "stale");
        Directory.CreateDirectory(run);
        using (var finished = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!)
        {
            finished.WaitForExit();
            File.WriteAllText(Path.Combine(run, RunLock.FileName),
                JsonSerializer.Serialize(new RunLockHolder(finished.Id, Environment.MachineName, DateTime.UtcNow)));
            var warnings = new List<string>();
            var result = Trainer.Run(Spec(), new TrainOptions { RunDirectory = run, OnWarning = warnings.Add });
            Assert.Equal(4, result.Steps);
            Assert.Contains(warnings, w => w.Contains($"stale lock of process {finished.Id}"));
        }
        Assert.False(File.Exists(Path.Combine(run, RunLock.FileName)));
        // A lock of another host is never judged stale.
        File.WriteAllText(Path.Combine(run, RunLock.FileName), JsonSerializer.Serialize(new RunLockHolder(1, "elsewhere", DateTime.UtcNow)));
        Assert.Contains("on host 'elsewhere'", Assert.Throws<RunLockedException>(() => RunLock.Acquire(run)).Message);
    }

    [Fact]
    public void A_corrupt_newest_checkpoint_is_reported_and_the_run_resumes_from_the_one_before()
    {
        var spec = Spec();
        var straight = Trainer.Run(spec, new TrainOptions { RunDirectory = Path.Combine(root, "straight") });
        var run = Path.Combine(root, "corrupt");
        Trainer.Run(spec, new TrainOptions { RunDirectory = run, StopAfterStep = 3 });
        var store = new CheckpointStore(Checkpoints(run), 5);
        var bytes = File.ReadAllBytes(store.PathFor(3));
        bytes[^5] ^= 0x10;
        File.WriteAllBytes(store.PathFor(3), bytes);
        File.WriteAllText(Path.Combine(Checkpoints(run), ".step-00000004.ckpt.0123.tmp"), "half a file");

        var warnings = new List<string>();
        var resumed = Trainer.Run(spec, new TrainOptions { RunDirectory = run, OnWarning = warnings.Add });
        Assert.Contains(warnings, w => w.Contains("skipped") && w.Contains(store.PathFor(3)) && w.Contains("checksum"));
        Assert.Contains(warnings, w => w.Contains(".step-00000004.ckpt.0123.tmp") && w.Contains("interrupted write"));
        Assert.Empty(Directory.EnumerateFiles(Checkpoints(run), "*.tmp"));
        Assert.Equal(straight.TrainLosses, resumed.TrainLosses); // resumed from step 2, bit-identical
    }

    [Fact]
    public void Checkpoints_none_of_which_verifies_refuse_a_fresh_start_unless_asked()
    {
        var spec = Spec(steps: 2);
        var run = Path.Combine(root, "ruined");
        Trainer.Run(spec, new TrainOptions { RunDirectory = run });
        foreach (var file in Directory.EnumerateFiles(Checkpoints(run), "*.ckpt")) File.WriteAllText(file, "garbage");

        var e = Assert.Throws<CheckpointException>(() => Trainer.Run(spec, new TrainOptions { RunDirectory = run, OnWarning = _ => { } }));
        Assert.Contains("none can be resumed", e.Message);
        Assert.Contains("--from-scratch", e.Message);
        Assert.Contains(Checkpoints(run), e.Message);

        var fresh = Trainer.Run(spec, new TrainOptions { RunDirectory = run, StartOverUnusableCheckpoints = true, OnWarning = _ => { } });
        Assert.Equal(2, fresh.Steps);
    }

    [Fact]
    public void Checkpoints_of_another_spec_are_passed_over_instead_of_aborting()
    {
        var spec = Spec();
        var run = Path.Combine(root, "mixed");
        Trainer.Run(spec, new TrainOptions { RunDirectory = run, StopAfterStep = 2 });
        // A newer checkpoint written for another spec (the same model, another seed) sits beside them.
        var other = SpecJson.Serialize(Spec(seed: 9));
        var store = new CheckpointStore(Checkpoints(run), 5);
        var good = Checkpoint.ReadHeader(store.PathFor(2));
        using (var scratch = Trainer.BuildLanguageModel(spec.Model, ScalarType.Float32, CPU, 1).Module)
            Checkpoint.Save(store.PathFor(3), good with { Step = 3, SpecJson = other }, scratch, null);

        var warnings = new List<string>();
        var resumed = Trainer.Run(spec, new TrainOptions { RunDirectory = run, OnWarning = warnings.Add });
        Assert.Contains(warnings, w => w.Contains(store.PathFor(3)) && w.Contains("different spec"));
        var straight = Trainer.Run(spec, new TrainOptions { RunDirectory = Path.Combine(root, "straight") });
        Assert.Equal(straight.TrainLosses, resumed.TrainLosses);
    }

    [Fact]
    public void Metrics_lines_are_whole_and_a_torn_last_line_is_skipped_with_a_warning()
    {
        var path = Path.Combine(root, "metrics.jsonl");
        using (var log = MetricsLog.Open(path, 0))
        {
            log.Write("train", 1, [new("loss", 2.0), new("note", new string('x', 10_000))]);
            log.Write("train", 2, [new("loss", double.NaN)]);
        }
        Assert.Equal(2, File.ReadAllLines(path).Length);
        File.AppendAllText(path, "{\"event\":\"train\",\"st");
        var warnings = new List<string>();
        var events = MetricsLog.Read(path, warnings.Add);
        Assert.Equal(2, events.Count);
        Assert.Contains("torn last line 3", Assert.Single(warnings));
        File.WriteAllText(path, "{\"step\":1}\nnot json\n{\"step\":2}\n");
        Assert.Contains("line 2", Assert.Throws<InvalidDataException>(() => MetricsLog.Read(path)).Message);
    }

    [Fact]
    public void A_checkpoint_refuses_non_finite_weights_or_state_and_keeps_non_finite_losses()
    {
        using var model = nn.Linear(3, 2);
        var parameters = model.named_parameters().Select(p => new NamedParameter(p.name, p.parameter,
            p.parameter.dim() == 2 ? ParameterRole.HiddenMatrix : ParameterRole.Bias)).ToList();
        using var optimizer = OptimizerFactory.Create(new AdamW(), parameters, null);
        var path = Path.Combine(root, "x.ckpt");
        double[] losses = [2.5, double.NaN, double.PositiveInfinity, double.NegativeInfinity, 1.25];
        Checkpoint.Save(path, new CheckpointHeader(5, "{}", losses, 1.0), model, optimizer);
        Assert.Equal(losses, Checkpoint.ReadHeader(path).TrainLosses);

        using (no_grad()) model.weight!.index_put_(tensor(float.NaN), 0, 1);
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Save(path, new CheckpointHeader(6, "{}", losses, 1.0), model, optimizer));
        Assert.Contains("refusing to write", e.Message);
        Assert.Contains("'weight'", e.Message);
        Assert.Contains(path, e.Message);
        Assert.Equal(5, Checkpoint.ReadHeader(path).Step); // the good checkpoint is untouched
    }
}
