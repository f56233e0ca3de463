using ModelDsl.Core;
using ModelDsl.Core.Sweeps;
using ModelDsl.Core.Tasks;
using ModelDsl.Core.Training;
using ModelDsl.Runtime.Runs;
using ModelDsl.Runtime.Sweeps;
using ModelDsl.Runtime.Training;
using static ModelDsl.Runtime.Tests.Sweeps.SweepSpecTests;

namespace ModelDsl.Runtime.Tests.Sweeps;

public class SweepRunnerTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("modeldsl-sweep-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    /// <summary>A bowl in (log10 lr, weight decay) with its minimum at lr = 3e-3, wd = 0.1, lower with
    /// more data; lr = 1e-1 diverges. Stands in for training so the sweep logic is tested alone.</summary>
    private static double SyntheticLoss(ExperimentSpec spec)
    {
        var optimizer = spec.Training.Optimizer;
        if (optimizer.Lr >= 0.1) return double.NaN;
        var ratio = ((ChinchillaBudget)spec.Training.Budget).Ratio;
        return 3 + 0.5 / ratio + Math.Pow(Math.Log10(optimizer.Lr / 3e-3), 2) + Math.Pow(optimizer.WeightDecay - 0.1, 2);
    }

    private sealed class FakeTrainer
    {
        public List<ExperimentSpec> Trained { get; } = [];
        /// <summary>Throw a cancellation (an interrupted process) when this many runs have started.</summary>
        public int? InterruptAt { get; set; }

        public TrainResult Train(ExperimentSpec spec, TrainOptions options)
        {
            if (InterruptAt is { } n && Trained.Count == n) throw new OperationCanceledException("interrupted");
            Trained.Add(spec);
            Directory.CreateDirectory(options.RunDirectory!);
            var loss = SyntheticLoss(spec);
            return new TrainResult(options.RunDirectory!, 10, loss, new EvalResult(10, loss, null), [], TimeSpan.FromSeconds(1), 100);
        }
    }

    private static SweepSpec Sweep(params double[] ratios) => new()
    {
        Name = "synthetic",
        Arms = ValueList.Of(Arm(Axis("training.optimizer.lr", 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 1e-1), Axis("training.optimizer.weightDecay", 0, 0.1, 0.2))
            with { Search = new CoordinateDescentSearch { Start = ValueList.Of(1, 0) } }),
        Ratios = ratios,
    };

    [Fact]
    public void Coordinate_descent_sweep_finds_the_best_configuration_at_every_ratio()
    {
        var trainer = new FakeTrainer();
        var result = SweepRunner.Run(Sweep(1, 2), new SweepOptions { Directory = folder, Train = trainer.Train });
        Assert.Equal(2, result.Results.Count);
        foreach (var arm in result.Results)
        {
            Assert.Equal("lr=0.003, weightDecay=0.1", arm.Best!.DescribeValues());
            Assert.Equal(3 + 0.5 / arm.Ratio!.Value, arm.Best.ValidationLoss!.Value, 12);
        }
        // Each configuration trained once; far fewer than the 2 x 18 of a full grid.
        Assert.Equal(trainer.Trained.Count, trainer.Trained.Distinct().Count());
        Assert.True(trainer.Trained.Count < 24, $"{trainer.Trained.Count} runs");
    }

    [Fact]
    public void The_report_flags_a_best_value_at_the_edge_of_its_grid()
    {
        // Interior optimum (lr 3e-3 of 1e-4..1e-1, wd 0.1 of 0..0.2): nothing flagged.
        SweepRunner.Run(Sweep(1), new SweepOptions { Directory = Path.Combine(folder, "interior"), Train = new FakeTrainer().Train });
        var interior = SweepReport.Build(new SweepDirectory(Path.Combine(folder, "interior")));
        Assert.All(interior.Cells, c => Assert.Empty(c.EdgeAxes!));
        Assert.DoesNotContain("at grid edge", SweepReport.ToMarkdown(interior));

        // A learning-rate grid that stops below the optimum: the best lr is its last value.
        var truncated = Sweep(1) with
        {
            Arms = ValueList.Of(Arm(Axis("training.optimizer.lr", 1e-4, 3e-4, 1e-3), Axis("training.optimizer.weightDecay", 0, 0.1, 0.2))
                with { Search = new CoordinateDescentSearch { Start = ValueList.Of(1, 0) } }),
        };
        SweepRunner.Run(truncated, new SweepOptions { Directory = Path.Combine(folder, "edge"), Train = new FakeTrainer().Train });
        var edge = SweepReport.Build(new SweepDirectory(Path.Combine(folder, "edge")));
        Assert.Equal(["lr"], edge.Cells.Single().EdgeAxes);
        Assert.Contains("lr=0.001, weightDecay=0.1 (at grid edge: lr)", SweepReport.ToMarkdown(edge));
    }

    [Fact]
    public void A_resumed_sweep_reruns_only_the_interrupted_run_and_reaches_the_same_result()
    {
        var uninterrupted = SweepRunner.Run(Sweep(1), new SweepOptions { Directory = Path.Combine(folder, "reference"), Train = new FakeTrainer().Train });

        var first = new FakeTrainer { InterruptAt = 4 };
        var directory = Path.Combine(folder, "resumed");
        Assert.Throws<OperationCanceledException>(() => SweepRunner.Run(Sweep(1), new SweepOptions { Directory = directory, Train = first.Train }));
        using (var store = RunStore.Open(Path.Combine(directory, "index.sqlite")))
        {
            var runs = store.RunsOf("synthetic");
            Assert.Equal(4, runs.Count(r => r.Status == RunStoreStatus.Finished));
            Assert.Equal(1, runs.Count(r => r.Status == RunStoreStatus.Running));
        }

        var second = new FakeTrainer();
        var resumed = SweepRunner.Run(Sweep(1), new SweepOptions { Directory = directory, Train = second.Train });
        Assert.Empty(second.Trained.Intersect(first.Trained));
        Assert.Equal(uninterrupted.Results[0].Outcome.Evaluations.Count, first.Trained.Count + second.Trained.Count);  // the interrupted run is trained once, by the second attempt
        Assert.Equal(uninterrupted.Results[0].Best!.DescribeValues(), resumed.Results[0].Best!.DescribeValues());

        // A third run trains nothing at all.
        var third = new FakeTrainer();
        SweepRunner.Run(Sweep(1), new SweepOptions { Directory = directory, Train = third.Train });
        Assert.Empty(third.Trained);
    }

    [Fact]
    public void A_failing_run_is_recorded_as_failed_and_never_chosen()
    {
        var sweep = Sweep(1);
        var result = SweepRunner.Run(sweep, new SweepOptions
        {
            Directory = folder,
            Train = (spec, options) => spec.Training.Optimizer.WeightDecay == 0.1 ? throw new InvalidOperationException("boom") : new FakeTrainer().Train(spec, options),
        });
        Assert.Equal(0.0, result.Results[0].Best!.Values[1].Value);
        using var store = RunStore.Open(Path.Combine(folder, "index.sqlite"));
        var failed = store.RunsOf("synthetic").Where(r => r.Status == RunStoreStatus.Failed).ToList();
        Assert.NotEmpty(failed);
        Assert.All(failed, r => Assert.Contains("boom", r.Error));
    }

    [Fact]
    public void A_run_whose_training_loss_turns_NaN_is_stopped_early_and_recorded_as_diverged()
    {
        var stepsTaken = new List<long>();
        var result = SweepRunner.Run(Sweep(1), new SweepOptions
        {
            Directory = folder,
            Train = (spec, options) =>
            {
                if (spec.Training.Optimizer.Lr < 1e-2) return new FakeTrainer().Train(spec, options);
                // Like the trainer: report each step, then honour cancellation before the next.
                for (long step = 1; step <= 100; step++)
                {
                    stepsTaken.Add(step);
                    options.OnProgress!(new TrainProgress(step, 100, step >= 3 ? double.NaN : 4.0, 1e-2, 1, 1, TimeSpan.Zero, TimeSpan.Zero));
                    options.Cancellation.ThrowIfCancellationRequested();
                }
                throw new InvalidOperationException("a NaN run must have been stopped");
            },
        });
        Assert.DoesNotContain(4L, stepsTaken); // every NaN run stopped right after its first NaN step (3)
        using var store = RunStore.Open(Path.Combine(folder, "index.sqlite"));
        var diverged = store.RunsOf("synthetic").Where(r => r.Status == RunStoreStatus.Diverged).ToList();
        Assert.NotEmpty(diverged);
        Assert.All(diverged, r => Assert.Equal("training loss became non-finite", r.Error));
        Assert.True(result.Results[0].Best!.Values[0].Value < 1e-2);
    }

    [Fact]
    public void Real_training_sweep_writes_runs_and_a_report_that_refuses_an_unchecked_fit()
    {
        // Two arms on sparse parity with a one-block model at three ratios: the report's fit needs 3.
        var baseSpec = Base with
        {
            Task = new SparseParity { Bits = 6, Secret = 2 },
            Training = Base.Training with
            {
                GlobalBatch = 64, MicroBatch = 64, Eval = new EvalSpec { Every = 25, Batches = 2, Problems = 0 },
                Checkpoint = new CheckpointSpec { Every = 0 }, Threads = 1,
            },
        };
        var sweep = new SweepSpec
        {
            Name = "tiny",
            Arms = ValueList.Of(new SweepArm { Label = "adamW", Base = baseSpec, Axes = ValueList.Of(Axis("training.optimizer.lr", 3e-3, 1e-2)) },
                    new SweepArm { Label = "adamW-noDecay", Base = baseSpec with { Training = baseSpec.Training with { Optimizer = new AdamW { WeightDecay = 0, Lr = 1e-2 } } }, Search = new GridSearch() }),
            Ratios = ValueList.Of(0.5, 1.0, 2.0),
        };
        var result = SweepRunner.Run(sweep, new SweepOptions { Directory = folder });
        Assert.All(result.Results, r => Assert.NotNull(r.Best));
        var best = result.Results[0].Best!;
        Assert.True(File.Exists(Path.Combine(best.RunDirectory, "metrics.jsonl")));
        Assert.True(File.Exists(Path.Combine(best.RunDirectory, "summary.json")));
        // The run trained the Chinchilla budget: steps = ceil(ratio * 20 * N / tokens per step), with
        // N counted by hand: per block q, k, v, o (4 x 16 x 16) + SwiGLU (3 x 16 x 64, hidden 8/3 x 16
        // rounded up to 64) + two norm gains (2 x 16), plus the final norm (16); the tied embedding
        // is not counted. A step is 64 sequences of 6 bits + '=' + 1 chain token = 8 inputs.
        const long nonEmbedding = 4 * 16 * 16 + 3 * 16 * 64 + 2 * 16 + 16;
        var summary = RunSummary.Read(Path.Combine(best.RunDirectory, "summary.json"));
        Assert.Equal(nonEmbedding, summary.NonEmbeddingParameters);
        Assert.Equal((long)Math.Ceiling(best.Ratio!.Value * 20 * nonEmbedding / (64.0 * 8)), best.Steps);

        var report = SweepReport.Write(new SweepDirectory(folder));
        // Three ratios fit three parameters exactly: the fit is made and shown, but not trusted.
        Assert.Null(report.Fit);
        Assert.False(report.BaselineFit!.Reliable);
        Assert.Equal(6, report.Cells.Count);
        var markdown = File.ReadAllText(Path.Combine(folder, "report.md"));
        Assert.Contains("| adamW-noDecay | 2x |", markdown);
        Assert.True(File.Exists(Path.Combine(folder, "plots", "final-loss.png")));
        Assert.True(File.Exists(Path.Combine(folder, "plots", "validation-ratio-1.png")));
        Assert.All(report.Cells, c => Assert.Null(c.Speedup));
        Assert.Contains("No speedups: the baseline 'adamW' fit is unreliable", markdown);
    }
}
