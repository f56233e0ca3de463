using ModelDsl.Core;
using ModelDsl.Core.Json;
using ModelDsl.Core.Sweeps;
using ModelDsl.Core.Training;
using ModelDsl.Runtime.Runs;
using ModelDsl.Runtime.Sweeps;
using ModelDsl.Runtime.Training;
using static ModelDsl.Runtime.Tests.Sweeps.SweepSpecTests;

namespace ModelDsl.Runtime.Tests.Sweeps;

/// <summary>The plain-text ledger a sweep resumes from when its run store and run folders are gone.</summary>
public class SweepLedgerTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("modeldsl-ledger-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private string LedgerPath => Path.Combine(folder, "kept", "sweep.jsonl");

    private static SweepSpec Sweep() => new()
    {
        Name = "ledgered",
        Arms = ValueList.Of(Arm(Axis("training.optimizer.lr", 1e-3, 2e-3, 4e-3)) with { Search = new CoordinateDescentSearch { MaxEdgeExtensions = 2 } }),
        Ratios = ValueList.Of(1.0, 2.0),
    };

    private sealed class FakeTrainer
    {
        public int Calls { get; private set; }

        public TrainResult Train(ExperimentSpec spec, TrainOptions options)
        {
            Calls++;
            Directory.CreateDirectory(options.RunDirectory!);
            var lr = spec.Training.Optimizer.Lr;
            // Diverges above 1e-2, optimum at 8e-3 (one widening above the grid).
            if (lr > 1e-2) return new TrainResult(options.RunDirectory!, 3, double.NaN, new EvalResult(3, double.NaN, null), [], TimeSpan.FromSeconds(1), 100);
            var value = 2 + Math.Pow(Math.Log2(lr / 8e-3), 2) / ((ChinchillaBudget)spec.Training.Budget).Ratio;
            return new TrainResult(options.RunDirectory!, 10, value, new EvalResult(10, value, null), [], TimeSpan.FromSeconds(2.5), 100);
        }
    }

    [Fact]
    public void A_sweep_resumes_from_its_ledger_alone_without_training_again_and_reports_the_same()
    {
        var first = new FakeTrainer();
        var sweepFolder = Path.Combine(folder, "sweep");
        var before = SweepRunner.Run(Sweep(), new SweepOptions { Directory = sweepFolder, Train = first.Train, Ledger = new SweepLedger(LedgerPath) });
        Assert.True(first.Calls > 6);
        var reportBefore = SweepReport.ToMarkdown(SweepReport.Build(new SweepDirectory(sweepFolder)));

        // Everything but the ledger is lost (another machine, a fresh clone).
        Directory.Delete(sweepFolder, recursive: true);
        var second = new FakeTrainer();
        var after = SweepRunner.Run(Sweep(), new SweepOptions { Directory = sweepFolder, Train = second.Train, Ledger = new SweepLedger(LedgerPath) });
        Assert.Equal(0, second.Calls);
        Assert.Equal(before.Results.Select(r => (r.Best!.Key, r.Best.ValidationLoss, r.Best.WallSeconds)),
            after.Results.Select(r => (r.Best!.Key, r.Best.ValidationLoss, r.Best.WallSeconds)));
        Assert.Equal(reportBefore, SweepReport.ToMarkdown(SweepReport.Build(new SweepDirectory(sweepFolder))));
        // Each run is written once, diverged ones too.
        var lines = File.ReadAllLines(LedgerPath);
        Assert.Equal(first.Calls, lines.Length);
        Assert.Contains(lines, l => l.Contains("\"status\":\"Diverged\""));
    }

    [Fact]
    public void A_torn_last_line_is_trained_again_and_a_damaged_middle_line_is_named()
    {
        var sweepFolder = Path.Combine(folder, "sweep");
        var first = new FakeTrainer();
        SweepRunner.Run(Sweep(), new SweepOptions { Directory = sweepFolder, Train = first.Train, Ledger = new SweepLedger(LedgerPath) });
        var lines = File.ReadAllLines(LedgerPath);
        // A process killed while appending: the last line is cut short.
        File.WriteAllText(LedgerPath, string.Join("\n", lines[..^1]) + "\n" + lines[^1][..20]);
        Directory.Delete(sweepFolder, recursive: true);
        var second = new FakeTrainer();
        SweepRunner.Run(Sweep(), new SweepOptions { Directory = sweepFolder, Train = second.Train, Ledger = new SweepLedger(LedgerPath) });
        Assert.Equal(1, second.Calls);
        // The torn line was cut before the rerun appended its own, so the ledger reads again in full.
        Assert.Equal(first.Calls, new SweepLedger(LedgerPath).Read(new SweepDirectory(sweepFolder)).Count);

        File.WriteAllText(LedgerPath, lines[0] + "\n{\"key\": 3,\n" + lines[1] + "\n");
        var error = Assert.Throws<SpecFormatException>(() => new SweepLedger(LedgerPath).Read(new SweepDirectory(sweepFolder)));
        Assert.Contains("sweep.jsonl:2", error.Message);
    }

    [Fact]
    public void Failed_runs_are_not_recorded_so_a_resumed_sweep_retries_them()
    {
        var sweepFolder = Path.Combine(folder, "sweep");
        var calls = 0;
        TrainResult Failing(ExperimentSpec spec, TrainOptions options)
        {
            calls++;
            if (spec.Training.Optimizer.Lr == 2e-3 && calls < 10) throw new InvalidOperationException("native crash");
            return new FakeTrainer().Train(spec, options);
        }
        SweepRunner.Run(Sweep(), new SweepOptions { Directory = sweepFolder, Train = Failing, Ledger = new SweepLedger(LedgerPath) });
        using (var store = RunStore.Open(new SweepDirectory(sweepFolder).DatabasePath))
            Assert.Contains(store.RunsOf("ledgered"), r => r.Status == RunStoreStatus.Failed);
        Assert.DoesNotContain(File.ReadAllLines(LedgerPath), l => l.Contains("Failed"));

        Directory.Delete(sweepFolder, recursive: true);
        var second = new FakeTrainer();
        SweepRunner.Run(Sweep(), new SweepOptions { Directory = sweepFolder, Train = second.Train, Ledger = new SweepLedger(LedgerPath) });
        Assert.True(second.Calls >= 1);
        using var resumed = RunStore.Open(new SweepDirectory(sweepFolder).DatabasePath);
        Assert.DoesNotContain(resumed.RunsOf("ledgered"), r => r.Status == RunStoreStatus.Failed);
    }
}
