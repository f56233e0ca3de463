using ModelDsl.Core;
using ModelDsl.Core.Sweeps;
using ModelDsl.Runtime.Runs;
using ModelDsl.Runtime.Sweeps;
using ModelDsl.Runtime.Training;
using static ModelDsl.Runtime.Tests.Sweeps.SweepSpecTests;

namespace ModelDsl.Runtime.Tests.Sweeps;

/// <summary>A point that the trainer's divergence policy stopped is a result: recorded "diverged" once, never retrained.</summary>
public sealed class SweepDivergenceTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("modeldsl-sweep-diverged-").FullName;
    public void Dispose() => Directory.Delete(folder, recursive: true);

    private static SweepSpec Sweep() => new()
    {
        Name = "policy",
        Arms = ValueList.Of(Arm(Axis("training.optimizer.lr", 1e-3, 1e-1), Axis("training.optimizer.weightDecay", 0.1)) with { Search = new GridSearch() }),
        Ratios = ValueList.Of(1.0),
    };

    private static TrainResult Train(ExperimentSpec spec, TrainOptions options, List<double> trained)
    {
        trained.Add(spec.Training.Optimizer.Lr);
        Directory.CreateDirectory(options.RunDirectory!);
        if (spec.Training.Optimizer.Lr < 1e-2)
            return new TrainResult(options.RunDirectory!, 10, 3.0, new EvalResult(10, 3.0, null), [], TimeSpan.FromSeconds(1), 100);
        return new TrainResult(options.RunDirectory!, 6, 2.5, new EvalResult(6, double.NaN, null), [], TimeSpan.FromSeconds(1), 100)
        {
            Divergence = new DivergenceReport(7, "the loss is NaN"),
        };
    }

    [Fact]
    public void A_run_stopped_by_the_divergence_policy_is_recorded_diverged_and_not_retrained()
    {
        var trained = new List<double>();
        var result = SweepRunner.Run(Sweep(), new SweepOptions { Directory = folder, Train = (s, o) => Train(s, o, trained) });
        Assert.Equal(1e-3, result.Results[0].Best!.Values[0].Value);
        using (var store = RunStore.Open(Path.Combine(folder, "index.sqlite")))
        {
            var diverged = Assert.Single(store.RunsOf("policy"), r => r.Status == RunStoreStatus.Diverged);
            Assert.Contains("training diverged at step 7: the loss is NaN", diverged.Error);
            Assert.Equal(6, diverged.Steps);
        }
        Assert.Equal(2, trained.Count);

        var again = new List<double>();
        SweepRunner.Run(Sweep(), new SweepOptions { Directory = folder, Train = (s, o) => Train(s, o, again) });
        Assert.Empty(again);
    }
}
