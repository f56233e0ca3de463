using System.Diagnostics;
using ModelDsl.Core;
using ModelDsl.Core.Json;
using ModelDsl.Core.Training;
using ModelDsl.Core.Vision;
using ModelDsl.Runtime.FineTune;
using ModelDsl.Runtime.Optim;
using ModelDsl.Runtime.Runs;
using ModelDsl.Runtime.Training;
using static TorchSharp.torch;
using TaskFactory = ModelDsl.Runtime.Tasks.TaskFactory;

namespace ModelDsl.Runtime.Vision;

/// <summary>
/// A vision experiment (<see cref="ExperimentSpec.Vision"/>) as a run: the model is the spec's
/// encoder and projector before its decoder <see cref="ExperimentSpec.Model"/>, trained on the scenes
/// task. Without <see cref="ExperimentSpec.Preference"/> it is supervised training on captions and
/// questions (loss on the response tokens, every TextOnlyEvery-th step without images), from a fresh
/// model or from <see cref="ExperimentSpec.Init"/>. With it, each step is one step of the preference
/// objective on GlobalBatch training contrast pairs against the init model, frozen (rebuilt from the
/// source on a resume). The run directory is a pre-training run's: spec.json, metrics.jsonl ("train"
/// or "preference" per step, "eval"), checkpoints (model and optimizer: a resumed run continues bit for
/// bit, as every batch is a pure function of the seed and the step) and summary.json.
/// </summary>
public static class VisionRun
{
    public static TrainResult Run(ExperimentSpec spec, TrainOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Native.HeapReuse.Enable(); // freed activations stay in the heap for the next step (MODELDSL_MALLOC=system opts out)
        options ??= new TrainOptions();
        spec.EnsureValid();
        var vision = spec.Vision ?? throw new ArgumentException("the experiment has no vision section", nameof(spec));
        var training = spec.Training;
        var (dtype, device) = Trainer.DtypeAndDevice(training);
        if (training.Threads is { } threads) set_num_threads(threads);
        manual_seed(training.Seed);

        var task = TaskFactory.Create(spec.Task, training.Seed) as SceneTask
                   ?? throw new NotSupportedException($"task: a vision experiment trains on the scenes task");
        var modelSpec = new VisionLanguageSpec { Vision = vision, Decoder = spec.Model };
        // A wrong init source fails before a run directory is made.
        if (spec.Init is { } source && !Trainer.WillResume(options) && VisionModelLoader.FirstDifference(source, modelSpec, "init") is { } difference)
            throw new ModelSourceException($"init holds a different architecture than the experiment's model: {difference}");
        var warn = options.OnWarning ?? (message => Console.Error.WriteLine("warning: " + message));
        var run = options.RunDirectory is { } explicitPath ? RunDirectory.Open(explicitPath) : RunDirectory.CreateNew(options.RunsRoot, spec.Name, DateTime.Now);
        using var runLock = RunLock.Acquire(run.Path, warn);
        foreach (var leftover in run.RemoveStaleTemporaryFiles()) warn($"removed '{leftover}', left by an interrupted write");
        run.WriteOrCheckSpec(spec);
        var specJson = SpecJson.Serialize(spec);

        using var model = VisionModelCompiler.Build(modelSpec, dtype, device, training.Seed);
        using var optimizer = OptimizerFactory.Create(training.Optimizer, model.NamedParameters(), training.ClipGradNorm);
        // A step's tokens: GlobalBatch texts (contrast pairs count once) of the task's length; the image prefix is not counted.
        var tokensPerStep = (long)training.GlobalBatch * task.SequenceLength;
        var totalSteps = training.Budget.Steps(tokensPerStep, NonEmbeddingParameterCount(model));

        var store = new CheckpointStore(run.CheckpointsPath, training.Checkpoint.Keep);
        var latest = store.LatestUsable(specJson, out var skipped);
        foreach (var problem in skipped) warn($"skipped {problem}");
        if (latest is null && store.List().Count > 0 && !options.StartOverUnusableCheckpoints)
            throw new CheckpointException(store.Directory,
                $"it holds {store.List().Count} checkpoint(s) but none can be resumed ({string.Join("; ", skipped)}); " +
                "refusing to train from scratch over them (start over explicitly, e.g. modeldsl run --from-scratch)");
        if (latest is null && spec.Init is { } init) VisionModelLoader.LoadInto(init, model, "init");
        using var reference = spec.Preference is null ? null : FrozenReference(spec, modelSpec, dtype, device);
        var losses = new List<double>();
        var priorSeconds = 0.0;
        long startStep = 0;
        if (latest is not null)
        {
            var header = Checkpoint.Load(latest, model, optimizer, specJson);
            startStep = header.Step;
            losses.AddRange(header.TrainLosses);
            priorSeconds = header.ElapsedSeconds;
        }
        using var metrics = MetricsLog.Open(run.MetricsPath, startStep);
        foreach (var problem in skipped) metrics.Write("checkpointSkipped", startStep, [new("reason", problem)]);

        var guard = new DivergenceGuard(training.Divergence);
        guard.Replay(losses);
        var clock = Stopwatch.StartNew();
        var lastCheckpointSeconds = 0.0;
        EvalResult? lastEval = null;
        var ranFinalStep = false;
        DivergenceReport? diverged = null;
        var step = startStep;
        while (step < totalSteps)
        {
            var multiplier = training.Schedule.Multiplier(step, totalSteps);
            var learningRate = training.Optimizer.Lr * multiplier;
            var outcome = spec.Preference is { } objective
                ? VisionRunSteps.Preference(model, reference!, optimizer, task, training, objective, step, multiplier, guard)
                : VisionRunSteps.Supervised(model, optimizer, task, training, step, multiplier, guard);
            if (outcome.Problem is not null)
            {
                metrics.Write("divergence", step + 1, [new("mode", training.Divergence.Mode.ToString()), new("problem", outcome.Problem),
                    new("loss", outcome.Loss), new("gradNorm", outcome.GradNorm)]);
                if (training.Divergence.Mode != DivergenceMode.Skip)
                {
                    diverged = new DivergenceReport(step + 1, outcome.Problem);
                    break;
                }
                warn($"step {step + 1}: {outcome.Problem}; the step was skipped");
            }
            step++;
            losses.Add(outcome.Loss);
            var sessionSeconds = clock.Elapsed.TotalSeconds;
            var sessionSteps = step - startStep;
            var elapsed = TimeSpan.FromSeconds(priorSeconds + sessionSeconds);
            var eta = TimeSpan.FromSeconds(sessionSeconds / sessionSteps * (totalSteps - step));
            var tokensPerSecond = sessionSteps * tokensPerStep / Math.Max(sessionSeconds, 1e-9);
            if (outcome.Problem is null)
            {
                if (spec.Preference is null)
                {
                    metrics.Write("train", step, [new("loss", outcome.Loss), new("lr", learningRate), new("gradNorm", outcome.GradNorm),
                        new("textOnly", task.IsTextOnlyStep(step - 1)), new("tokensPerSecond", tokensPerSecond), new("elapsedSeconds", elapsed.TotalSeconds)]);
                    options.OnProgress?.Invoke(new TrainProgress(step, totalSteps, outcome.Loss, learningRate, outcome.GradNorm, tokensPerSecond, elapsed, eta));
                }
                else
                {
                    metrics.Write("preference", step, [new("loss", outcome.Loss), new("lr", learningRate), new("gradNorm", outcome.GradNorm),
                        .. outcome.Margins.Select((m, i) => new KeyValuePair<string, object?>($"margin{i + 1}", m)), new("elapsedSeconds", elapsed.TotalSeconds)]);
                    options.OnPreferenceProgress?.Invoke(new PreferenceProgress(step, totalSteps, outcome.Loss, outcome.Margins, learningRate, elapsed, eta));
                }
            }

            var isFinal = step == totalSteps;
            if (isFinal || (training.Eval.Every > 0 && step % training.Eval.Every == 0))
            {
                lastEval = Evaluate(model, reference, task, training, step, metrics);
                options.OnEval?.Invoke(lastEval);
            }
            var cancelled = options.Cancellation.IsCancellationRequested;
            var timeForCheckpoint = training.Checkpoint.EveryMinutes is { } minutes && clock.Elapsed.TotalSeconds - lastCheckpointSeconds >= minutes * 60;
            string? saved = null;
            if (isFinal || cancelled || timeForCheckpoint || (training.Checkpoint.Every > 0 && step % training.Checkpoint.Every == 0))
            {
                lastCheckpointSeconds = clock.Elapsed.TotalSeconds;
                saved = store.Save(new CheckpointHeader(step, specJson, losses.ToArray(), priorSeconds + clock.Elapsed.TotalSeconds), model, optimizer);
            }
            if (cancelled) throw new TrainingInterruptedException(run.Path, step, saved);
            ranFinalStep = isFinal;
            if (options.StopAfterStep is { } stop && step >= stop && !isFinal) break;
        }

        var totalElapsed = TimeSpan.FromSeconds(priorSeconds + clock.Elapsed.TotalSeconds);
        var sessionTokensPerSecond = (step - startStep) * tokensPerStep / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
        var lastLoss = losses.Count > 0 ? losses[^1] : double.NaN;
        var parameters = model.named_parameters().Sum(p => p.parameter.numel());
        if (diverged is not null)
        {
            metrics.Write("diverged", diverged.Step, [new("problem", diverged.Problem)]);
            RunSummary.Write(run.SummaryPath, new RunSummary(spec.Name, step, step * tokensPerStep, lastLoss, double.NaN, null,
                totalElapsed.TotalSeconds, sessionTokensPerSecond, parameters, NonEmbeddingParameterCount(model), RunSummary.Diverged, diverged.Message));
            return new TrainResult(run.Path, step, lastLoss, lastEval ?? new EvalResult(step, double.NaN, null), losses, totalElapsed, sessionTokensPerSecond)
                { Divergence = diverged };
        }
        if (step < totalSteps)
            return new TrainResult(run.Path, step, lastLoss, lastEval ?? new EvalResult(step, double.NaN, null), losses, totalElapsed, sessionTokensPerSecond);
        // A run that was already complete is evaluated again for its result but not logged again.
        var finalEval = ranFinalStep ? lastEval! : Evaluate(model, reference, task, training, step, metrics: null);
        RunSummary.Write(run.SummaryPath, new RunSummary(spec.Name, step, step * tokensPerStep, lastLoss, finalEval.ValidationLoss,
            finalEval.Accuracy, totalElapsed.TotalSeconds, sessionTokensPerSecond, parameters, NonEmbeddingParameterCount(model)));
        return new TrainResult(run.Path, step, lastLoss, finalEval, losses, totalElapsed, sessionTokensPerSecond);
    }

    /// <summary>
    /// Held-out losses (with and without images) and greedy accuracies (questions; captions as the full
    /// match); for preference runs also the contrast metrics of training.eval.problems held-out pairs
    /// against the reference. Writes "eval" unless <paramref name="metrics"/> is null.
    /// </summary>
    private static EvalResult Evaluate(VisionLanguageModel model, VisionLanguageModel? reference, SceneTask task, TrainingSpec training, long step,
        MetricsLog? metrics)
    {
        var result = VisionEvaluation.Evaluate(model, task, training);
        List<KeyValuePair<string, object?>> values =
        [
            new("validationLoss", result.ValidationLoss), new("textOnlyLoss", result.TextOnlyLoss),
            new("accuracy", result.QuestionAccuracy), new("captionAccuracy", result.CaptionAccuracy),
        ];
        if (reference is not null && training.Eval.Problems > 0)
        {
            var pairs = Enumerable.Range(0, training.Eval.Problems).Select(i => task.SamplePair(SceneSplit.HeldOut, i)).ToList();
            var contrast = VisionEvaluator.Evaluate(model, pairs, reference, training.MicroBatch);
            values.Add(new("pairedAccuracy", contrast.PairedAccuracy));
            values.Add(new("visualReliance", contrast.VisualReliance));
        }
        metrics?.Write("eval", step, values);
        return new EvalResult(step, result.ValidationLoss, result.QuestionAccuracy, result.CaptionAccuracy);
    }

    private static VisionLanguageModel FrozenReference(ExperimentSpec spec, VisionLanguageSpec modelSpec, ScalarType dtype, Device device)
    {
        var reference = VisionModelLoader.Load(spec.Init!, modelSpec, dtype, device, "init");
        foreach (var p in reference.parameters()) p.requires_grad = false;
        reference.eval();
        return reference;
    }

    /// <summary>Every parameter but the decoder's token embedding and untied head (the encoder's and projector's count, frozen or not).</summary>
    public static long NonEmbeddingParameterCount(VisionLanguageModel model) =>
        model.Decoder.NonEmbeddingParameterCount + model.Encoder.parameters().Sum(p => p.numel()) + model.Projector.parameters().Sum(p => p.numel());
}
