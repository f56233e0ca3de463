using ModelDsl.Core.Validation;
using ModelDsl.Runtime.Runs;
using ModelDsl.Runtime.Training;

namespace ModelDsl.Runtime.Sweeps;

/// <summary>
/// Trains one sweep point into its run directory (resuming from its checkpoints when it has some)
/// and records the outcome in the run store: Finished, Diverged (the divergence rule, or a
/// non-finite training loss) or Failed (an error, whose message is stored). Both backends use it:
/// the local one in the sweep's process, the Slurm one inside each array task.
/// </summary>
public static class SweepPointTrainer
{
    public static RunStoreEntry Train(SweepPoint point, RunStore store, DivergenceRule divergence, SweepOptions options)
    {
        var key = point.Key;
        var resuming = Directory.Exists(Path.Combine(point.RunDirectory, "checkpoints"));
        store.MarkRunning(key, point.Sweep, point.Arm, point.Ratio, point.Point, point.Values, point.RunDirectory);
        options.OnRunStart?.Invoke(new SweepRunStart(point.Arm, point.Ratio, RunStore.DescribeValues(point.Values), point.RunDirectory, resuming));

        var errors = point.Experiment.Validate();
        if (errors.Count > 0)
            // A combination of individually valid values can still break a rule (warmup + decay > 1).
            return Finish(store, key, RunStoreStatus.Failed, null, null, null, null, new SpecValidationException(errors).Message, options);

        var nonFiniteLoss = false;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(options.Cancellation);
        var trainOptions = new TrainOptions
        {
            RunDirectory = point.RunDirectory,
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
            var result = options.Train(point.Experiment, trainOptions);
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
        options.Ledger?.Append(run);
        options.OnRunEnd?.Invoke(run);
        return run;
    }
}
