using ModelDsl.Core;
using ModelDsl.Core.Json;
using ModelDsl.Core.Sweeps;
using ModelDsl.Core.Validation;
using ModelDsl.Runtime.Runs;
using ModelDsl.Runtime.Training;

namespace ModelDsl.Runtime.Sweeps;

/// <summary>A run the sweep is about to train (or resume).</summary>
public sealed record SweepRunStart(string Arm, double? Ratio, string Values, string RunDirectory, bool Resuming);

/// <summary>The search of one arm at one budget: what ran and the best configuration (null when all diverged).</summary>
public sealed record SweepArmResult(string Arm, double? Ratio, SearchOutcome Outcome, RunStoreEntry? Best);

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
}

/// <summary>
/// Runs a sweep: for every budget and arm, the arm's search over its grid, each point trained once
/// into its own run directory and recorded in the run store. Running the same sweep again resumes
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
        var divergence = new DivergenceRule(spec.DivergenceLoss);

        var results = new List<SweepArmResult>();
        foreach (var ratio in spec.Budgets())
            foreach (var arm in spec.Arms)
            {
                var runs = new Dictionary<GridPoint, RunStoreEntry>();
                double Objective(GridPoint point)
                {
                    var run = RunPoint(spec, arm, ratio, point, directory, store, divergence, options);
                    runs[point] = run;
                    return run.Status == RunStoreStatus.Finished ? run.ValidationLoss!.Value : double.NaN;
                }
                var sizes = arm.GridSizes;
                var outcome = arm.Search switch
                {
                    CoordinateDescentSearch search => CoordinateDescent.Run(sizes, new GridPoint(search.StartPoint(sizes)), search.TieThreshold, divergence, Objective),
                    Core.Sweeps.GridSearch => GridSearchRunner.Run(sizes, divergence, Objective),
                    var other => throw new NotSupportedException($"search {other.GetType().Name} is not implemented"),
                };
                results.Add(new SweepArmResult(arm.Label, ratio, outcome, outcome.Best is { } best ? runs[best] : null));
            }
        return new SweepResult(directory.Path, results);
    }

    /// <summary>Trains one grid point, or returns its stored result when it already finished or diverged.</summary>
    private static RunStoreEntry RunPoint(SweepSpec sweep, SweepArm arm, double? ratio, GridPoint point, SweepDirectory directory,
        RunStore store, DivergenceRule divergence, SweepOptions options)
    {
        var experiment = arm.Resolve(point.Indices, ratio);
        var key = RunStore.KeyOf(experiment);
        var values = arm.Describe(point.Indices);
        if (store.Find(key) is { Status: RunStoreStatus.Finished or RunStoreStatus.Diverged } done) return done;

        var runPath = directory.RunPath(arm.Label, ratio, values, key);
        var resuming = System.IO.Directory.Exists(Path.Combine(runPath, "checkpoints"));
        store.MarkRunning(key, sweep.Name, arm.Label, ratio, point.Indices, values, runPath);
        options.OnRunStart?.Invoke(new SweepRunStart(arm.Label, ratio, RunStore.DescribeValues(values), runPath, resuming));

        var errors = experiment.Validate();
        if (errors.Count > 0)
            // A combination of individually valid values can still break a rule (warmup + decay > 1).
            return Finish(store, key, RunStoreStatus.Failed, null, null, null, null, new SpecValidationException(errors).Message, options);

        var nonFiniteLoss = false;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(options.Cancellation);
        var trainOptions = new TrainOptions
        {
            RunDirectory = runPath,
            Cancellation = stop.Token,
            OnEval = options.OnEval,
            OnProgress = progress =>
            {
                options.OnProgress?.Invoke(progress);
                // A NaN or infinite training loss never recovers: stop the run early as diverged.
                if (!double.IsFinite(progress.Loss))
                {
                    nonFiniteLoss = true;
                    stop.Cancel();
                }
            },
        };
        try
        {
            var result = options.Train(experiment, trainOptions);
            if (result.Divergence is { } stopped)
                // The divergence policy stopped the run: a result, recorded once and never retrained.
                return Finish(store, key, RunStoreStatus.Diverged, null, result.FinalTrainLoss, result.Steps, result.Elapsed.TotalSeconds,
                    stopped.Message, options);
            var loss = result.FinalEval.ValidationLoss;
            var status = divergence.IsDiverged(loss) ? RunStoreStatus.Diverged : RunStoreStatus.Finished;
            return Finish(store, key, status, loss, result.FinalTrainLoss, result.Steps, result.Elapsed.TotalSeconds, null, options);
        }
        catch (OperationCanceledException) when (nonFiniteLoss && !options.Cancellation.IsCancellationRequested)
        {
            return Finish(store, key, RunStoreStatus.Diverged, null, null, null, null, "training loss became non-finite", options);
        }
        catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
        {
            return Finish(store, key, RunStoreStatus.Failed, null, null, null, null, $"{e.GetType().Name}: {e.Message}", options);
        }
    }

    private static RunStoreEntry Finish(RunStore store, string key, RunStoreStatus status, double? loss, double? trainLoss, long? steps,
        double? seconds, string? error, SweepOptions options)
    {
        store.Complete(key, status, loss, trainLoss, steps, seconds, error);
        var run = store.Find(key)!;
        options.OnRunEnd?.Invoke(run);
        return run;
    }
}
