using ModelDsl.Core;
using ModelDsl.Runtime.Eval;
using ModelDsl.Runtime.Tasks;
using ModelDsl.Runtime.Training;
using static TorchSharp.torch;
using TaskFactory = ModelDsl.Runtime.Tasks.TaskFactory;

namespace ModelDsl.Runtime.Studies;

/// <summary>One evaluation during a study run; Entropies is [layer][head] normalised attention
/// entropy on the answer positions of a validation batch (see <see cref="AttentionEntropy"/>).</summary>
public sealed record StudyEval(long Step, double ValidationLoss, double? Accuracy, double? FullMatchAccuracy, double[][] Entropies);

/// <summary>The outcome of one training run of a study.</summary>
public sealed record StudyRun(string Name, string RunDirectory, long Steps, bool StoppedEarly, IReadOnlyList<StudyEval> Evals)
{
    public double BestAccuracy => Evals.Select(e => e.Accuracy ?? double.NaN).DefaultIfEmpty(double.NaN).Max();
    public double FinalAccuracy => Evals.Count == 0 ? double.NaN : Evals[^1].Accuracy ?? double.NaN;
    public double FinalFullMatchAccuracy => Evals.Count == 0 ? double.NaN : Evals[^1].FullMatchAccuracy ?? double.NaN;
}

/// <summary>Trains the runs of a study: the ordinary trainer plus attention entropy at every evaluation and an optional early stop.</summary>
public static class StudyTrainer
{
    /// <param name="stopAtAccuracy">Stop (after that evaluation) once held-out accuracy reaches this value.</param>
    /// <param name="entropyRows">Sequences of validation batch 0 on which entropy is measured; 0 skips it.</param>
    /// <param name="stopWhen">Stop (after that evaluation) once this holds of the evaluations so far, e.g. a patience rule.</param>
    /// <param name="ledger">Where finished runs are recorded: a run already there is returned without training
    /// (its RunDirectory is empty), a new one is appended once it ends.</param>
    public static StudyRun Train(ExperimentSpec spec, string runsRoot, double? stopAtAccuracy = null, int entropyRows = 64,
        Action<StudyEval>? onEval = null, Func<IReadOnlyList<StudyEval>, bool>? stopWhen = null, StudyLedger? ledger = null)
    {
        spec.EnsureValid();
        if (ledger is null) return TrainNew(spec, runsRoot, stopAtAccuracy, entropyRows, onEval, stopWhen);
        var key = StudyLedger.KeyOf(spec, stopAtAccuracy, entropyRows);
        if (ledger.Find(key) is { } recorded) return recorded;
        var run = TrainNew(spec, runsRoot, stopAtAccuracy, entropyRows, onEval, stopWhen);
        ledger.Append(key, run);
        return run;
    }

    private static StudyRun TrainNew(ExperimentSpec spec, string runsRoot, double? stopAtAccuracy, int entropyRows,
        Action<StudyEval>? onEval, Func<IReadOnlyList<StudyEval>, bool>? stopWhen)
    {
        var task = TaskFactory.Create(spec.Task, spec.Training.Seed);
        TrainableModel? model = null;
        var evals = new List<StudyEval>();
        using var stop = new CancellationTokenSource();
        var options = new TrainOptions
        {
            RunsRoot = runsRoot,
            Cancellation = stop.Token,
            OnEval = e =>
            {
                var entropies = entropyRows > 0 && model is not null ? Entropies(model, task, entropyRows) : [];
                var eval = new StudyEval(e.Step, e.ValidationLoss, e.Accuracy, e.FullMatchAccuracy, entropies);
                evals.Add(eval);
                onEval?.Invoke(eval);
                if (stopAtAccuracy is { } target && ClaimRules.ReachedTarget(e.Accuracy, target)) stop.Cancel();
                else if (stopWhen?.Invoke(evals) == true) stop.Cancel();
            },
        };
        TrainableModel Build(ModelDsl.Core.Model.ModelSpec m, ScalarType dtype, Device device, long seed) =>
            model = Trainer.BuildLanguageModel(m, dtype, device, seed);
        try
        {
            var result = Trainer.Run(spec, options, Build);
            return new StudyRun(spec.Name, result.RunDirectory, result.Steps, false, evals);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return new StudyRun(spec.Name, "", evals.Count == 0 ? 0 : evals[^1].Step, true, evals);
        }
    }

    private static double[][] Entropies(TrainableModel model, ITask task, int rows)
    {
        using var scope = NewDisposeScope();
        using var batch = task.ValidationBatch(0, rows);
        var device = model.Parameters[0].Parameter.device;
        return AttentionProbe.MeanEntropies(model.Module, batch.Inputs.to(device), batch.LossMask.to(device));
    }
}
