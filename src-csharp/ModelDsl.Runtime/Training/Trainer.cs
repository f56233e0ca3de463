using ModelDsl.Core.Variants;
using ModelDsl.Runtime.Parameters;
using ModelDsl.Runtime.Model;
using System.Diagnostics;
using ModelDsl.Core;
using ModelDsl.Core.Json;
using ModelDsl.Core.Training;
using ModelDsl.Runtime.Eval;
using ModelDsl.Runtime.Optim;
using ModelDsl.Runtime.Runs;
using ModelDsl.Runtime.Tasks;
using static TorchSharp.torch;
using TaskFactory = ModelDsl.Runtime.Tasks.TaskFactory;
using ModelDsl.Runtime.Moe;
using ModelDsl.Runtime.Distributed;

namespace ModelDsl.Runtime.Training;

/// <summary>
/// The pre-training loop: micro-batches with gradient accumulation, global-norm clipping, the LR
/// schedule, the spec's optimizer, periodic and final evaluation, atomic checkpoints and deterministic resume.
/// The first run of a process sets the C heap to reuse freed memory (<see cref="Native.HeapReuse"/>; MODELDSL_MALLOC=system opts out).
/// </summary>
public static partial class Trainer
{
    /// <summary>Trains the model built by <paramref name="buildModel"/> on the spec's task. The run sets
    /// torch's thread count and seeds its default generator; the caller's values are restored afterwards.</summary>
    public static TrainResult Run(ExperimentSpec spec, TrainOptions? options, TrainableModelFactory buildModel)
    {
        Native.HeapReuse.Enable(); // freed activations stay in the heap for the next step (MODELDSL_MALLOC=system opts out)
        var threads = get_num_threads();
        var generatorState = random.get_rng_state().DetachFromDisposeScope();
        try
        {
            // Under mpirun this process is one data-parallel replica (see Distributed/DataParallelReplica).
            var replica = DataParallelReplica.For(options?.Collective);
            return replica.RunOrEndJob(() => RunWithGlobalState(spec, options, buildModel, replica));
        }
        finally
        {
            set_num_threads(threads);
            random.set_rng_state(generatorState);
            generatorState.Dispose();
        }
    }

    private static TrainResult RunWithGlobalState(ExperimentSpec spec, TrainOptions? options, TrainableModelFactory buildModel, DataParallelReplica replica)
    {
        ArgumentNullException.ThrowIfNull(spec);
        options ??= new TrainOptions();
        spec.EnsureValid();
        replica.CheckSupported(spec);
        if (spec.Vision is not null) return ModelDsl.Runtime.Vision.VisionRun.Run(spec, options);
        if (spec.Rl is not null) return ModelDsl.Runtime.Rl.RlRun.Run(spec, options);
        CheckInitArchitecture(spec, options);
        var training = spec.Training;
        var dtype = training.Precision switch
        {
            Precision.Float32 => ScalarType.Float32,
            Precision.Float64 => ScalarType.Float64,
            Precision.BFloat16Mixed => throw new NotSupportedException(
                "training.precision: bFloat16Mixed is not implemented yet; use float32 or float64"),
            _ => throw new NotSupportedException($"training.precision: {training.Precision} is not supported"),
        };
        var device = ResolveDevice(training.Device);
        if (training.Threads is { } threads) set_num_threads(threads);
        manual_seed(training.Seed);

        var task = TaskFactory.Create(spec.Task, training.Seed);
        var warn = options.OnWarning ?? (message => Console.Error.WriteLine("warning: " + message));
        // Replica 0 alone chooses, locks and writes the run directory; the others train from the same one.
        var run = !replica.IsRoot ? null
            : options.RunDirectory is { } explicitPath ? RunDirectory.Open(explicitPath) : RunDirectory.CreateNew(options.RunsRoot, spec.Name, DateTime.Now);
        using var runLock = run is null ? null : RunLock.Acquire(run.Path, warn);
        foreach (var leftover in run?.RemoveStaleTemporaryFiles() ?? []) warn($"removed '{leftover}', left by an interrupted write");
        run?.WriteOrCheckSpec(spec);
        run = RunDirectory.Open(replica.AgreeOnRunDirectory(run?.Path));
        var specJson = SpecJson.Serialize(spec);

        var model = buildModel(spec.Model, dtype, device, training.Seed);
        using var module = model.Module;
        using var optimizer = OptimizerFactory.Create(training.Optimizer, model.Parameters, training.ClipGradNorm);
        replica.CheckSupported(optimizer);

        var sequenceLength = task.SequenceLength;
        var tokensPerStep = (long)training.GlobalBatch * sequenceLength;
        var totalSteps = training.Budget.Steps(tokensPerStep, model.NonEmbeddingParameterCount);

        // Resume from the newest checkpoint of this spec that verifies; corrupt ones and those of another spec are reported and passed over.
        var store = new CheckpointStore(run.CheckpointsPath, training.Checkpoint.Keep);
        var latest = store.LatestUsable(specJson, out var skipped);
        foreach (var problem in skipped) warn($"skipped {problem}");
        if (latest is null && store.List().Count > 0 && !options.StartOverUnusableCheckpoints)
            throw new CheckpointException(store.Directory,
                $"it holds {store.List().Count} checkpoint(s) but none can be resumed ({string.Join("; ", skipped)}); " +
                "refusing to train from scratch over them (start over explicitly, e.g. modeldsl run --from-scratch)");
        if (latest is null) LoadInitialWeights(spec, module);
        var losses = new List<double>();
        var priorSeconds = 0.0;
        long startStep = 0;
        var lrScale = 1.0;
        var rollbacks = 0;
        if (latest is not null)
        {
            var header = Checkpoint.Load(latest, module, optimizer, specJson);
            startStep = header.Step;
            losses.AddRange(header.TrainLosses);
            priorSeconds = header.ElapsedSeconds;
            lrScale = header.LrScale;
            rollbacks = header.Rollbacks;
        }
        replica.AgreeOnStart(startStep);
        replica.BroadcastParameters(model.Parameters);
        var guard = new DivergenceGuard(training.Divergence);
        guard.Replay(losses);
        var metrics = replica.IsRoot ? MetricsLog.Open(run.MetricsPath, startStep, options.TensorBoard ? run.TensorBoardPath : null) : MetricsLog.Discarding();
        try
        {
            foreach (var problem in skipped)
                metrics.Write("checkpointSkipped", startStep, [new("reason", problem)]);
            return TrainLoop();
        }
        finally
        {
            metrics.Dispose();
        }

        // The loop is a local function so that the metrics log, which a rollback reopens, is always disposed.
        TrainResult TrainLoop()
        {
            var participants = StepParticipants.Of(module);
            participants.UseReducer(options.ExpertLoadReducer ?? replica.LoadReducer);
            using var routing = ExpertRoutingStatistics.For(module, task);
            var context = new StepContext(module, optimizer, model.Parameters, task, training, device, participants.With(routing), spec.Model.Vocab, replica);

            module.train();
            var clock = Stopwatch.StartNew();
            var lastCheckpointSeconds = 0.0;
            EvalResult? lastEval = null;
            var ranFinalStep = false;
            var step = startStep;
            DivergenceReport? diverged = null;
            string? SaveCheckpoint(long atStep)
            {
                lastCheckpointSeconds = clock.Elapsed.TotalSeconds;
                if (!replica.IsRoot) return null;
                return store.Save(new CheckpointHeader(atStep, specJson, losses.ToArray(), priorSeconds + clock.Elapsed.TotalSeconds, lrScale, rollbacks), module, optimizer);
            }
            while (step < totalSteps)
            {
                var stepClock = options.OnStepTimings is null ? null : new StepClock();
                var multiplier = training.Schedule.Multiplier(step, totalSteps);
                // lrScale is 1 unless a divergence rollback lowered it; x * 1.0 == x, so finite runs are unchanged.
                var scaledMultiplier = multiplier * lrScale;
                var learningRate = training.Optimizer.Lr * scaledMultiplier;
                var (stepLoss, gradNorm, problem) = TrainStep(context, step, scaledMultiplier, guard, stepClock);
                var loss = stepLoss.LanguageModel;
                if (problem is not null)
                {
                    var attempted = step + 1;
                    metrics.Write("divergence", attempted, [new("mode", training.Divergence.Mode.ToString()), new("problem", problem),
                        new("loss", loss), new("gradNorm", gradNorm)]);
                    if (training.Divergence.Mode == DivergenceMode.Skip)
                        warn($"step {attempted}: {problem}; the step was skipped");
                    else if (training.Divergence.Mode == DivergenceMode.Rollback && rollbacks < training.Divergence.MaxRollbacks
                        && store.LatestUsable(specJson, out _) is { } good)
                    {
                        var header = Checkpoint.Load(good, module, optimizer, specJson);
                        rollbacks++;
                        lrScale *= training.Divergence.RollbackLrScale;
                        step = header.Step;
                        losses.Clear();
                        losses.AddRange(header.TrainLosses);
                        guard.Replay(losses);
                        metrics.Dispose();
                        metrics = replica.IsRoot ? MetricsLog.Open(run.MetricsPath, step, options.TensorBoard ? run.TensorBoardPath : null) : MetricsLog.Discarding();
                        metrics.Write("rollback", step, [new("fromStep", attempted), new("problem", problem), new("lrScale", lrScale), new("rollbacks", (long)rollbacks)]);
                        warn($"step {attempted}: {problem}; rolled back to step {step} ({good}), learning rate scaled to {lrScale:G4} of the schedule");
                        continue;
                    }
                    else
                    {
                        var why = training.Divergence.Mode == DivergenceMode.Rollback
                            ? rollbacks >= training.Divergence.MaxRollbacks ? $" (after {rollbacks} rollbacks)" : " (no checkpoint to roll back to)"
                            : "";
                        diverged = new DivergenceReport(attempted, problem + why);
                        break;
                    }
                }
                step++;
                losses.Add(loss);
                var applied = problem is null;

                var sessionSeconds = clock.Elapsed.TotalSeconds;
                var sessionSteps = step - startStep;
                var tokensPerSecond = sessionSteps * tokensPerStep / Math.Max(sessionSeconds, 1e-9);
                var elapsed = TimeSpan.FromSeconds(priorSeconds + sessionSeconds);
                // After a rollback this session may stand before where it started: no meaningful ETA then.
                var eta = sessionSteps > 0 ? TimeSpan.FromSeconds(sessionSeconds / sessionSteps * (totalSteps - step)) : TimeSpan.Zero;
                if (applied)
                {
                    metrics.Write("train", step, [new("loss", loss), new("lr", learningRate), new("gradNorm", gradNorm),
                        new("tokensPerSecond", tokensPerSecond), new("elapsedSeconds", elapsed.TotalSeconds),
                        .. stepLoss.Auxiliary.Select(a => new KeyValuePair<string, object?>("aux." + a.Name, a.Value))]);
                    if (routing is not null)
                    {
                        var stepRouting = replica.Sum(routing.Snapshot());
                        metrics.Write("moe", step, stepRouting.SelectMany(layer => layer.Metrics(perDomain: false)));
                        options.OnRouting?.Invoke(step, stepRouting);
                    }
                    if (replica.IsRoot) options.OnProgress?.Invoke(new TrainProgress(step, totalSteps, loss, learningRate, gradNorm, tokensPerSecond, elapsed, eta));
                }

                var isFinal = step == totalSteps;
                // Replica 0 evaluates alone: its model is every replica's, so the numbers are the single-process ones.
                if (replica.IsRoot && (isFinal || (training.Eval.Every > 0 && step % training.Eval.Every == 0)))
                {
                    lastEval = Evaluate(model, task, training, device, step);
                    metrics.Write("eval", step, [new("validationLoss", lastEval.ValidationLoss), new("accuracy", lastEval.Accuracy),
                        new("fullMatchAccuracy", lastEval.FullMatchAccuracy)]);
                    if (training.Eval.AttentionStatistics && module is LanguageModel languageModel)
                    {
                        using var statisticsScope = NewDisposeScope();
                        using var batch = task.ValidationBatch(0, training.MicroBatch);
                        metrics.Write("attention", step, AttentionStatistics.Measure(languageModel, batch.Inputs.to(device)));
                    }
                    if (routing is not null)
                    {
                        var evalRouting = routing.MeasureValidation(module, task, training.Eval.Batches, training.MicroBatch, device);
                        metrics.Write("moeEval", step, evalRouting.SelectMany(layer => layer.Metrics(perDomain: true)));
                        options.OnRoutingEval?.Invoke(step, evalRouting);
                    }
                    if (training.Eval.Sampling is { } sampling && module is LanguageModel sampled)
                        metrics.Write("sampling", step, SamplingMetrics.Measure(sampled, task, sampling));
                    options.OnEval?.Invoke(lastEval);
                }
                var cancelled = replica.AnyOf(options.Cancellation.IsCancellationRequested);
                var timeForCheckpoint = training.Checkpoint.EveryMinutes is { } minutes && clock.Elapsed.TotalSeconds - lastCheckpointSeconds >= minutes * 60;
                string? saved = null;
                if (isFinal || cancelled || timeForCheckpoint || (training.Checkpoint.Every > 0 && step % training.Checkpoint.Every == 0))
                    saved = SaveCheckpoint(step);
                if (stepClock is not null && applied) options.OnStepTimings!(stepClock.Finish(step));
                if (cancelled) throw new TrainingInterruptedException(run.Path, step, saved);
                ranFinalStep = isFinal;
                if (options.StopAfterStep is { } stop && step >= stop && !isFinal) break;
            }

            var totalElapsed = TimeSpan.FromSeconds(priorSeconds + clock.Elapsed.TotalSeconds);
            var sessionTokensPerSecond = (step - startStep) * tokensPerStep / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
            if (diverged is not null)
            {
                // Nothing of the refused step was applied and nothing of it is checkpointed: the newest checkpoint is the last good state.
                metrics.Write("diverged", diverged.Step, [new("problem", diverged.Problem)]);
                var lastLoss = losses.Count > 0 ? losses[^1] : double.NaN;
                if (replica.IsRoot) RunSummary.Write(run.SummaryPath, new RunSummary(spec.Name, step, step * tokensPerStep, lastLoss, double.NaN, null,
                    totalElapsed.TotalSeconds, sessionTokensPerSecond, model.ParameterCount, model.NonEmbeddingParameterCount,
                    RunSummary.Diverged, diverged.Message));
                return new TrainResult(run.Path, step, lastLoss, lastEval ?? new EvalResult(step, double.NaN, null), losses, totalElapsed,
                    sessionTokensPerSecond) { Divergence = diverged };
            }
            if (step < totalSteps)
                return new TrainResult(run.Path, step, losses.Count > 0 ? losses[^1] : double.NaN,
                    lastEval ?? new EvalResult(step, double.NaN, null), losses, totalElapsed, sessionTokensPerSecond);

            // A run that was already complete is evaluated again for its result but not logged twice.
            var finalEval = ranFinalStep && lastEval is not null ? lastEval
                : replica.IsRoot ? Evaluate(model, task, training, device, step) : new EvalResult(step, double.NaN, null);
            var finalLoss = losses.Count > 0 ? losses[^1] : double.NaN;
            metrics.Dispose();
            if (!replica.IsRoot) return new TrainResult(run.Path, step, finalLoss, finalEval, losses, totalElapsed, sessionTokensPerSecond);
            RunSummary.Write(run.SummaryPath, new RunSummary(spec.Name, step, step * tokensPerStep, finalLoss, finalEval.ValidationLoss,
                finalEval.Accuracy, totalElapsed.TotalSeconds, sessionTokensPerSecond, model.ParameterCount, model.NonEmbeddingParameterCount));
            // The plot is a convenience: a plotting failure (e.g. a native drawing library that cannot be
            // loaded) is reported and never fails a run whose results are already written.
            try
            {
                LossPlot.Save(run.LossPlotPath,
                    losses.Select((l, i) => ((long)i + 1, l)).ToList(),
                    MetricsLog.Read(run.MetricsPath, warn).Where(e => (string?)e["event"] == "eval")
                        .Select(e => (e["step"]!.GetValue<long>(), e["validationLoss"]!.GetValue<double>())).ToList());
            }
            catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or IOException or UnauthorizedAccessException)
            {
                warn($"the loss plot '{run.LossPlotPath}' was not written: {e.Message}");
            }
            return new TrainResult(run.Path, step, finalLoss, finalEval, losses, totalElapsed, sessionTokensPerSecond);
        }
    }

    /// <summary>What every training step works with: the model, its optimizer and parameters, the
    /// data, the settings, the device, and the step participants of the model (its MoE layers and
    /// the routing statistics, for example), which the loop calls without knowing their types.</summary>
    private sealed record StepContext(nn.Module<Tensor, Tensor> Module, IOptimizer Optimizer, IReadOnlyList<NamedParameter> Parameters,
        ITask Task, TrainingSpec Training, Device Device, StepParticipants Participants, long Vocab, DataParallelReplica Replica);

    /// <summary>
    /// One optimizer step over GlobalBatch / MicroBatch micro-batches (see <see cref="GradientAccumulation"/>).
    /// Gradient clipping (TrainingSpec.ClipGradNorm) is done by the optimizer over its own clip scope
    /// (all parameters, except Muon: its AdamW group only); the returned norm is the global one before clipping.
    /// Participants begin the step before the first micro-batch (so global-batch MoE counts cover
    /// exactly this step's micro-batches, also right after a resume), see each micro-batch before its
    /// forward, and end after the last one: routing statistics record the micro-batch forwards only
    /// (not the Hessian-vector passes).
    /// The divergence guard sees the loss and the global gradient norm after the backward pass and
    /// before the optimizer clips or updates anything; a step it refuses returns its problem and changes no weight.
    /// </summary>
    private static (AccumulatedLoss Loss, double GradNorm, string? Problem) TrainStep(StepContext s, long step, double learningRateMultiplier,
        DivergenceGuard guard, StepClock? clock)
    {
        using var scope = NewDisposeScope();
        var training = s.Training;
        var batches = Enumerable.Range(0, training.AccumulationSteps).Select(m => s.Task.TrainBatch(step, m, training.MicroBatch)).ToList();
        for (var m = 0; m < batches.Count; m++)
            TokenRange.Check(batches[m].Inputs, s.Vocab, $"training batch {step}.{m} of task {VariantRegistry.KindOf(s.Task.Spec)}");

        var share = s.Replica.Share(batches);
        clock?.EndBatch();

        // The first backward stores its gradients rather than adding them into zeroed ones (as torch's
        // zero_grad(set_to_none=True)); parameters it does not reach get zeros afterwards, so every
        // parameter has the gradient that zeroing first would have given it.
        var releasing = s.Optimizer as OptimizerBase;
        if (releasing is not null) releasing.ReleaseGradients();
        else s.Optimizer.ZeroGrad();
        clock?.EndZeroGrad();
        s.Participants.BeginStep();
        AccumulatedLoss loss;
        try
        {
            loss = GradientAccumulation.BackwardWithAuxiliary(s.Module, share, s.Device, s.Participants.BeforeForward, clock);
        }
        finally
        {
            s.Participants.EndForwards();
        }
        if (releasing is not null)
        {
            releasing.ZeroMissingGradients();
            clock?.EndZeroGrad();
        }
        loss = s.Replica.AllReduce(s.Parameters, loss);
        var hessian = s.Optimizer.NeedsHessianVectorProduct
            ? new Optim.StepContext(vectors => GradientAccumulation.HessianVectorProduct(s.Module, batches, s.Device, s.Parameters.Select(p => (Tensor)p.Parameter).ToList(), vectors))
            : Optim.StepContext.None;
        clock?.Mark();
        if (s.Optimizer is OptimizerBase optimizer)
        {
            // One measurement serves the divergence guard, the logged norm and clipping.
            var measure = optimizer.MeasureGradients();
            clock?.EndGradientNorm();
            if (guard.Assess(loss.LanguageModel, measure.Total) is { } refused) return (loss, measure.Total, refused);
            var norm = optimizer.Step(learningRateMultiplier, hessian, measure, clock is null ? null : clock.EndClip);
            clock?.EndOptimizer();
            return (loss, norm, null);
        }
        var measured = GradientNorm.Global(s.Optimizer.Slots);
        clock?.EndGradientNorm();
        if (guard.Assess(loss.LanguageModel, measured) is { } problem) return (loss, measured, problem);
        var gradNorm = s.Optimizer.Step(learningRateMultiplier, hessian);
        clock?.EndOptimizer();
        return (loss, gradNorm, null);
    }

    private static EvalResult Evaluate(TrainableModel model, ITask task, TrainingSpec training, Device device, long step)
    {
        var loss = Evaluator.ValidationLoss(model.Module, task, training.Eval.Batches, training.MicroBatch, device);
        var accuracy = Evaluator.Accuracies(model.Module, task, training.Eval.Problems, training.MicroBatch, device, model.GenerateGreedy);
        return new EvalResult(step, loss, accuracy?.Answer, accuracy?.FullCompletion);
    }

    private static Device ResolveDevice(string device) => device switch
    {
        "auto" => cuda.is_available() ? CUDA : CPU,
        "cpu" => CPU,
        _ when device.StartsWith("cuda") && !cuda.is_available() =>
            throw new NotSupportedException($"training.device: '{device}' was requested but CUDA is not available on this machine"),
        _ => new Device(device),
    };
}
