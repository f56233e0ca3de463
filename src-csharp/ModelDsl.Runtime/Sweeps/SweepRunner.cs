using ModelDsl.Core;
using ModelDsl.Core.Json;
using ModelDsl.Core.Sweeps;
using ModelDsl.Core.Validation;
using ModelDsl.Runtime.Runs;
using ModelDsl.Runtime.Training;

namespace ModelDsl.Runtime.Sweeps;

/// <summary>A run the sweep is about to train (or resume).</summary>
public sealed record SweepRunStart(string Arm, double? Ratio, string Values, string RunDirectory, bool Resuming);

/// <summary>The search of one arm at one budget: what ran and the best configuration (null when all diverged).
/// FinalArm is the arm with its axes as the search left them (widened at the edges when it widens); Outcome's points index its grid.</summary>
public sealed record SweepArmResult(string Arm, double? Ratio, SearchOutcome Outcome, RunStoreEntry? Best, SweepArm? FinalArm = null,
    IReadOnlyList<AxisWidening>? Widening = null);

public sealed record SweepResult(string Directory, IReadOnlyList<SweepArmResult> Results);

public sealed class SweepOptions
{
    /// <summary>Parent of sweep folders; a sweep runs in &lt;root&gt;/&lt;sweep name&gt;.</summary>
    public string SweepsRoot { get; init; } = Path.Combine("runs", "sweeps");
    /// <summary>An explicit sweep folder instead of &lt;root&gt;/&lt;name&gt;.</summary>
    public string? Directory { get; init; }
    public Action<SweepRunStart>? OnRunStart { get; init; }
    public Action<RunStoreEntry>? OnRunEnd { get; init; }
    public Action<TrainProgress>? OnProgress { get; init; }
    public Action<EvalResult>? OnEval { get; init; }
    /// <summary>Cancelling stops the current run at its next step (checkpointed, left Running for a resume).</summary>
    public CancellationToken Cancellation { get; init; }
    /// <summary>Trains one experiment; the trainer by default (replaceable to test the sweep logic without training).</summary>
    public Func<ExperimentSpec, TrainOptions, TrainResult> Train { get; init; } = (spec, options) => Trainer.Run(spec, options);
    /// <summary>Where the runs train: in this process (the default) or as jobs of a cluster scheduler.</summary>
    public ISweepBackend Backend { get; init; } = LocalSweepBackend.Instance;
    /// <summary>A plain-text record of the sweep's results to resume from when the run store is gone
    /// (kept under version control next to a study); imported on start, appended after every run.</summary>
    public SweepLedger? Ledger { get; init; }
}

/// <summary>
/// Runs a sweep: for every budget and arm, the arm's search over its grid, each point trained once
/// into its own run directory (by the options' backend, a round of points at a time) and recorded
/// in the run store. Running the same sweep again resumes
/// it: finished and diverged points are read from the store, interrupted ones continue from their
/// checkpoints, and the deterministic search replays the same decisions up to where it stopped.
/// </summary>
public static class SweepRunner
{
    public static SweepResult Run(SweepSpec spec, SweepOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        options ??= new SweepOptions();
        spec.EnsureValid();
        var directory = options.Directory is { } explicitPath ? new SweepDirectory(explicitPath) : SweepDirectory.ForSweep(options.SweepsRoot, spec.Name);
        directory.SaveSpec(spec);
        using var store = RunStore.Open(directory.DatabasePath);
        store.RecordSweep(spec.Name, SpecJson.Serialize(spec));
        options.Ledger?.Import(store, directory);
        var divergence = new DivergenceRule(spec.DivergenceLoss);
        var context = new SweepContext(spec, directory, store, divergence, options);

        var results = new List<SweepArmResult>();
        foreach (var ratio in spec.Budgets())
            foreach (var arm in spec.Arms)
            {
                // Runs by configuration key: a widened grid re-indexes its points, the keys stay.
                var runs = new Dictionary<string, RunStoreEntry>();
                IReadOnlyList<double> Round(SweepArm current, IReadOnlyList<GridPoint> points)
                {
                    var entries = RunRound(context, current, ratio, points);
                    for (var i = 0; i < points.Count; i++) runs[entries[i].Key] = entries[i];
                    return entries.Select(run => run.Status == RunStoreStatus.Finished ? run.ValidationLoss!.Value : double.NaN).ToList();
                }
                var search = ArmSearch.Run(arm, divergence, Round);
                var bestRun = search.Outcome.Best is { } best ? runs[RunStore.KeyOf(search.Arm.Resolve(best.Indices, ratio))] : null;
                results.Add(new SweepArmResult(arm.Label, ratio, search.Outcome, bestRun, search.Arm, search.Widening));
            }
        return new SweepResult(directory.Path, results);
    }

    /// <summary>
    /// One round of a search: the stored result of each point that already finished or diverged,
    /// the backend's for the others (each configuration trained once even when two points share it).
    /// </summary>
    private static IReadOnlyList<RunStoreEntry> RunRound(SweepContext context, SweepArm arm, double? ratio, IReadOnlyList<GridPoint> points)
    {
        var prepared = points.Select(point => Prepare(context, arm, ratio, point)).ToList();
        var known = new Dictionary<string, RunStoreEntry>();
        var pending = new List<SweepPoint>();
        foreach (var point in prepared)
        {
            if (known.ContainsKey(point.Key) || pending.Any(p => p.Key == point.Key)) continue;
            if (context.Store.Find(point.Key) is { Status: RunStoreStatus.Finished or RunStoreStatus.Diverged } done) known[point.Key] = done;
            else pending.Add(point);
        }
        if (pending.Count > 0)
        {
            var ran = context.Options.Backend.RunRound(context, pending);
            if (ran.Count != pending.Count)
                throw new InvalidOperationException($"the sweep backend returned {ran.Count} results for {pending.Count} runs");
            for (var i = 0; i < pending.Count; i++)
            {
                known[pending[i].Key] = ran[i];
                context.Options.Ledger?.Append(ran[i]); // a cluster's tasks do not write the ledger
            }
        }
        return prepared.Select(point => known[point.Key]).ToList();
    }

    private static SweepPoint Prepare(SweepContext context, SweepArm arm, double? ratio, GridPoint point)
    {
        var experiment = arm.Resolve(point.Indices, ratio);
        var key = RunStore.KeyOf(experiment);
        var values = arm.Describe(point.Indices);
        return new SweepPoint(context.Spec.Name, arm.Label, ratio, point.Indices, values, key,
            context.Directory.RunPath(arm.Label, ratio, values, key), experiment);
    }
}
