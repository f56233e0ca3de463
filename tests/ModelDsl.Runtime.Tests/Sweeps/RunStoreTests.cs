using ModelDsl.Runtime.Runs;

namespace ModelDsl.Runtime.Tests.Sweeps;

public class RunStoreTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("modeldsl-store-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void Runs_survive_reopening_with_status_metrics_and_point()
    {
        var db = Path.Combine(folder, "index.sqlite");
        using (var store = RunStore.Open(db))
        {
            store.RecordSweep("s", "{}");
            store.MarkRunning("k1", "s", "adamW", 2.0, [1, 0], [("lr", 3e-3), ("weightDecay", 0.0)], "/runs/a");
            store.Complete("k1", RunStoreStatus.Finished, 3.25, 3.2, 120, 4.5);
            store.MarkRunning("k2", "s", "adamW", null, [], [], "/runs/b");
            store.Complete("k2", RunStoreStatus.Diverged, double.NaN, double.NaN, 10, 1.0, "nan");
            store.MarkRunning("k3", "s", "adamW", 2.0, [0, 0], [("lr", 1e-3), ("weightDecay", 0.0)], "/runs/c");
        }
        using (var store = RunStore.Open(db))
        {
            Assert.Equal(["s"], store.SweepIds());
            var finished = store.Find("k1")!;
            Assert.Equal(RunStoreStatus.Finished, finished.Status);
            Assert.Equal(3.25, finished.ValidationLoss);
            Assert.Equal(120, finished.Steps);
            Assert.Equal(2.0, finished.Ratio);
            Assert.Equal([1, 0], finished.Point);
            Assert.Equal("lr=0.003, weightDecay=0", finished.DescribeValues());
            var diverged = store.Find("k2")!;
            Assert.Equal(RunStoreStatus.Diverged, diverged.Status);
            Assert.Null(diverged.ValidationLoss);
            Assert.Null(diverged.Ratio);
            Assert.Empty(diverged.Point);
            Assert.Equal(RunStoreStatus.Running, store.Find("k3")!.Status);
            Assert.Equal(3, store.RunsOf("s").Count);
            Assert.Null(store.Find("nope"));
        }
    }

    [Fact]
    public void Completing_an_unknown_run_is_an_error()
    {
        using var store = RunStore.Open(Path.Combine(folder, "index.sqlite"));
        var e = Assert.Throws<InvalidOperationException>(() => store.Complete("missing", RunStoreStatus.Finished, 1, 1, 1, 1));
        Assert.Contains("missing", e.Message);
    }
}
