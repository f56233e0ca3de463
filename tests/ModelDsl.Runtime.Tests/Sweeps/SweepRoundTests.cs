using Microsoft.Data.Sqlite;
using ModelDsl.Core;
using ModelDsl.Core.Sweeps;
using ModelDsl.Runtime.Runs;
using ModelDsl.Runtime.Sweeps;
using ModelDsl.Runtime.Training;
using static ModelDsl.Runtime.Tests.Sweeps.SweepSpecTests;

namespace ModelDsl.Runtime.Tests.Sweeps;

/// <summary>Searches asked a round at a time (what a cluster backend parallelises), and the run store
/// written by several processes at once.</summary>
public class SweepRoundTests : IDisposable
{
    private static readonly DivergenceRule Rule = new(6.0);
    private readonly string folder = Directory.CreateTempSubdirectory("modeldsl-rounds-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private static double Bowl(GridPoint p) =>
        2 + 0.1 * Math.Pow(p[0] - 4, 2) + 0.2 * Math.Pow(p[1] - 1, 2) + 0.05 * (p[0] - 4) * (p[1] - 1) + (p[0] == 6 ? 10 : 0);

    [Fact]
    public void Coordinate_descent_in_rounds_makes_the_point_by_point_decisions_and_asks_each_point_once()
    {
        var sizes = new[] { 7, 5 };
        var single = CoordinateDescent.Run(sizes, new GridPoint(0, 4), 3e-3, Rule, Bowl);
        var rounds = new List<IReadOnlyList<GridPoint>>();
        var inRounds = CoordinateDescent.RunInRounds(sizes, new GridPoint(0, 4), 3e-3, Rule, points =>
        {
            rounds.Add(points);
            return points.Select(Bowl).ToList();
        });
        Assert.Equal(new GridPoint(4, 1), inRounds.Best);
        Assert.Equal(single.Best, inRounds.Best);
        Assert.Equal(single.Path, inRounds.Path);
        Assert.Equal(single.Evaluations, inRounds.Evaluations);
        Assert.Equal([new GridPoint(0, 4)], rounds[0]);
        var asked = rounds.SelectMany(r => r).ToList();
        Assert.Equal(asked.Count, asked.Distinct().Count());
        // After the start, each round is the unvisited neighbourhood of the point the search stood on.
        for (var i = 1; i < rounds.Count; i++)
        {
            var standing = inRounds.Path[i - 1];
            Assert.All(rounds[i], p => Assert.Contains(p, standing.Neighbours(sizes)));
        }
    }

    [Fact]
    public void A_grid_in_rounds_is_one_round_of_every_point_with_the_point_by_point_outcome()
    {
        var rounds = new List<IReadOnlyList<GridPoint>>();
        var inRounds = GridSearchRunner.RunInRounds([2, 3], Rule, points => { rounds.Add(points); return points.Select(Bowl).ToList(); });
        var single = GridSearchRunner.Run([2, 3], Rule, Bowl);
        Assert.Single(rounds);
        Assert.Equal(6, rounds[0].Count);
        Assert.Equal(single.Evaluations, inRounds.Evaluations);
        Assert.Equal(single.Best, inRounds.Best);
    }

    /// <summary>Records the rounds it is given and trains them in process with a synthetic loss.</summary>
    private sealed class RecordingBackend : ISweepBackend
    {
        public List<IReadOnlyList<SweepPoint>> Rounds { get; } = [];

        public IReadOnlyList<RunStoreEntry> RunRound(SweepContext context, IReadOnlyList<SweepPoint> points)
        {
            Rounds.Add(points);
            return LocalSweepBackend.Instance.RunRound(context, points);
        }
    }

    private static TrainResult Synthetic(ExperimentSpec spec, TrainOptions options)
    {
        Directory.CreateDirectory(options.RunDirectory!);
        var loss = 3 + Math.Pow(Math.Log10(spec.Training.Optimizer.Lr / 3e-3), 2) + spec.Training.Optimizer.WeightDecay;
        return new TrainResult(options.RunDirectory!, 10, loss, new EvalResult(10, loss, null), [], TimeSpan.FromSeconds(1), 100);
    }

    [Fact]
    public void The_runner_hands_a_grid_to_its_backend_as_one_round_and_a_rerun_hands_it_nothing()
    {
        var spec = new SweepSpec
        {
            Name = "rounds",
            Arms = ValueList.Of(Arm(Axis("training.optimizer.lr", 1e-3, 3e-3), Axis("training.optimizer.weightDecay", 0, 0.1))
                with { Search = new Core.Sweeps.GridSearch() }),
        };
        var backend = new RecordingBackend();
        var result = SweepRunner.Run(spec, new SweepOptions { Directory = folder, Train = Synthetic, Backend = backend });
        var round = Assert.Single(backend.Rounds);
        Assert.Equal(4, round.Count);
        Assert.Equal(4, round.Select(p => p.Key).Distinct().Count());
        Assert.All(round, p => Assert.Equal(RunStore.KeyOf(p.Experiment), p.Key));
        Assert.Equal("lr=0.003, weightDecay=0", result.Results[0].Best!.DescribeValues());

        var again = new RecordingBackend();
        var rerun = SweepRunner.Run(spec, new SweepOptions { Directory = folder, Train = Synthetic, Backend = again });
        Assert.Empty(again.Rounds);
        Assert.Equal(result.Results[0].Best!.Key, rerun.Results[0].Best!.Key);
    }

    [Fact]
    public void A_point_written_for_a_task_reads_back_and_a_changed_spec_is_refused()
    {
        var directory = new SweepDirectory(folder);
        var experiment = Base with { Name = "written" };
        var key = RunStore.KeyOf(experiment);
        var point = new SweepPoint("s", "adamW", 2.0, [1, 0], [("lr", 1e-3)], key, Path.Combine(folder, "runs", "x"), experiment);
        SweepPointFiles.Write(directory, point);
        var back = SweepPointFiles.Read(directory, key);
        Assert.Equal(point.Experiment, back.Experiment);
        Assert.Equal(point.Values, back.Values);
        Assert.Equal(point.Point, back.Point);
        Assert.Equal((point.Sweep, point.Arm, point.Ratio, point.RunDirectory), (back.Sweep, back.Arm, back.Ratio, back.RunDirectory));

        var specPath = Path.Combine(SweepPointFiles.FolderOf(directory, key), "spec.json");
        File.WriteAllText(specPath, Core.Json.SpecJson.Serialize(experiment with { Name = "edited" }));
        var e = Assert.Throws<Core.Json.SpecFormatException>(() => SweepPointFiles.Read(directory, key));
        Assert.Contains("hashes to key", e.Message);
    }

    [Fact]
    public void Several_stores_on_one_file_write_at_once_without_losing_a_row()
    {
        var database = Path.Combine(folder, "index.sqlite");
        using (RunStore.Open(database)) { }
        const int writers = 4, runsEach = 20;
        var threads = Enumerable.Range(0, writers).Select(w => new Thread(() =>
        {
            using var store = RunStore.Open(database);
            for (var i = 0; i < runsEach; i++)
            {
                var key = $"{w:x8}{i:x8}";
                store.MarkRunning(key, "s", "a", null, [w, i], [("lr", i)], "dir");
                store.Complete(key, RunStoreStatus.Finished, w + i / 100.0, null, 10, 1.0);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        using var check = RunStore.Open(database);
        var runs = check.RunsOf("s");
        Assert.Equal(writers * runsEach, runs.Count);
        Assert.All(runs, r => Assert.Equal(RunStoreStatus.Finished, r.Status));
        using var connection = new SqliteConnection($"Data Source={database};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", command.ExecuteScalar() as string);
    }
}
