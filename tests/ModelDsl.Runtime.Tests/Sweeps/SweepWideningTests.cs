using ModelDsl.Core;
using ModelDsl.Core.Sweeps;
using ModelDsl.Core.Training;
using ModelDsl.Runtime.Sweeps;
using ModelDsl.Runtime.Training;
using static ModelDsl.Runtime.Tests.Sweeps.SweepSpecTests;

namespace ModelDsl.Runtime.Tests.Sweeps;

/// <summary>Edge widening and the constrained fit through the sweep runner and its report, with a synthetic loss in place of training.</summary>
public class SweepWideningTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("modeldsl-widening-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private sealed class FakeTrainer(Func<double, double, double> loss)
    {
        public List<ExperimentSpec> Trained { get; } = [];

        public TrainResult Train(ExperimentSpec spec, TrainOptions options)
        {
            Trained.Add(spec);
            Directory.CreateDirectory(options.RunDirectory!);
            var value = loss(spec.Training.Optimizer.Lr, ((ChinchillaBudget)spec.Training.Budget).Ratio);
            return new TrainResult(options.RunDirectory!, 10, value, new EvalResult(10, value, null), [], TimeSpan.FromSeconds(1), 100);
        }
    }

    private static SweepSpec Sweep(int cap, params double[] ratios) => new()
    {
        Name = "widening",
        Arms = ValueList.Of(Arm(Axis("training.optimizer.lr", 1e-3, 2e-3, 4e-3)) with { Search = new CoordinateDescentSearch { MaxEdgeExtensions = cap } }),
        Ratios = ratios,
    };

    [Fact]
    public void The_sweep_widens_to_an_optimum_outside_its_grid_and_the_report_replays_it()
    {
        // Optimum at lr = 1.6e-2, two doublings above the grid; an exact power law in the ratio.
        var trainer = new FakeTrainer((lr, k) => 2 + 0.5 * Math.Pow(k, -0.5) + 0.1 * Math.Pow(Math.Log2(lr / 1.6e-2), 2));
        var result = SweepRunner.Run(Sweep(3, 1, 2, 4, 8), new SweepOptions { Directory = folder, Train = trainer.Train });
        Assert.All(result.Results, r => Assert.Equal(1.6e-2, r.Best!.Values[0].Value, 12));
        Assert.All(result.Results, r => Assert.Equal(new AxisWidening(0, 3, false, null), r.Widening![0]));
        Assert.Equal(trainer.Trained.Count, trainer.Trained.Distinct().Count());

        var report = SweepReport.Build(new SweepDirectory(folder));
        Assert.All(report.Cells, c => Assert.Empty(c.EdgeAxes!));
        Assert.All(report.Cells, c => Assert.Empty(c.CappedAxes!));
        Assert.All(report.Cells, c => Assert.Equal(6, c.Finished));
        // The constrained fit recovers the law and the baseline's speedups are 1.
        Assert.NotNull(report.Fit);
        Assert.Equal(0.5, report.Fit!.Exponent, 4);
        Assert.Equal(2.0, report.Fit.Beta, 4);
        Assert.All(report.Cells, c => Assert.Equal(1.0, c.Speedup!.Value, 4));
        Assert.Contains("widened: lr +0 below, +3 above", SweepReport.ToMarkdown(report));
    }

    [Fact]
    public void An_unbounded_learning_rate_hits_the_cap_and_the_report_says_so()
    {
        var trainer = new FakeTrainer((lr, k) => 2 + 0.5 / k + 1 / (1 + 1000 * lr));
        SweepRunner.Run(Sweep(2, 1, 2, 4, 8), new SweepOptions { Directory = folder, Train = trainer.Train });
        var report = SweepReport.Build(new SweepDirectory(folder));
        Assert.All(report.Cells, c => Assert.Equal(["lr"], c.CappedAxes));
        Assert.All(report.Cells, c => Assert.Equal(1.6e-2, c.Best!.Values[0].Value, 12));
        Assert.Contains("(at grid edge after the widening cap: lr)", SweepReport.ToMarkdown(report));
    }

    [Fact]
    public void An_unreliable_baseline_fit_is_shown_but_gives_no_speedups()
    {
        // Three ratios: the fit passes through them exactly and cannot be checked.
        var trainer = new FakeTrainer((lr, k) => 2 + 0.5 * Math.Pow(k, -0.5) + Math.Abs(Math.Log2(lr / 2e-3)));
        SweepRunner.Run(Sweep(0, 1, 2, 4), new SweepOptions { Directory = folder, Train = trainer.Train });
        var report = SweepReport.Build(new SweepDirectory(folder));
        Assert.Null(report.Fit);
        Assert.NotNull(report.BaselineFit);
        Assert.False(report.BaselineFit!.Reliable);
        Assert.All(report.Cells, c => Assert.Null(c.Speedup));
        var markdown = SweepReport.ToMarkdown(report);
        Assert.Contains("fit (unreliable, not used)", markdown);
        Assert.Contains("3 distinct ratios", markdown);
    }

    [Fact]
    public void The_extension_cap_is_validated_and_omitted_from_JSON_when_unset()
    {
        var errors = Sweep(-1, 1).Validate();
        Assert.Contains(errors, e => e.Path == "arms[0].search.maxEdgeExtensions" && e.Message.Contains("[0, 20]"));
        var json = ModelDsl.Core.Json.SpecJson.Serialize(Sweep(0, 1) with
        {
            Arms = ValueList.Of(Arm(Axis("training.optimizer.lr", 1e-3, 2e-3, 4e-3))),
        });
        Assert.DoesNotContain("maxEdgeExtensions", json);
        var back = ModelDsl.Core.Json.SpecJson.Deserialize<SweepSpec>(json);
        Assert.Null(((CoordinateDescentSearch)back.Arms[0].Search).MaxEdgeExtensions);
        var widened = ModelDsl.Core.Json.SpecJson.Deserialize<SweepSpec>(ModelDsl.Core.Json.SpecJson.Serialize(Sweep(3, 1)));
        Assert.Equal(3, ((CoordinateDescentSearch)widened.Arms[0].Search).MaxEdgeExtensions);
    }
}
