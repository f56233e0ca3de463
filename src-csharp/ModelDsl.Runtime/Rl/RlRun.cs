using System.Diagnostics;
using ModelDsl.Core;
using ModelDsl.Core.FineTune;
using ModelDsl.Core.Json;
using ModelDsl.Core.Rl;
using ModelDsl.Runtime.Compile;
using ModelDsl.Runtime.Eval;
using ModelDsl.Runtime.FineTune;
using ModelDsl.Runtime.Model;
using ModelDsl.Runtime.Optim;
using ModelDsl.Runtime.Runs;
using ModelDsl.Runtime.Tasks;
using ModelDsl.Runtime.Training;
using static TorchSharp.torch;
using TaskFactory = ModelDsl.Runtime.Tasks.TaskFactory;

namespace ModelDsl.Runtime.Rl;

/// <summary>
/// An RL experiment (<see cref="ExperimentSpec.Rl"/>) as a run: the policy starts from
/// <see cref="ExperimentSpec.Init"/> with a fresh optimizer, and takes one <see cref="RlTrainer.Step"/> per
/// step of the experiment's budget, the schedule giving the learning-rate multiplier of each RL step. The
/// run directory is a pre-training run's: spec.json, metrics.jsonl ("rl" per step, "eval" and, with
/// training.eval.sampling, "sampling" at evaluations), checkpoints and summary.json. A checkpoint holds
/// the policy, the optimizer and the RL loop's state (step and sampling generator, appended after the
/// optimizer's), so a resumed run continues bit for bit as the uninterrupted one would; the frozen KL
/// reference is rebuilt from the init source. Like pre-training, the run holds run.lock while it trains
/// and follows training.divergence: an update whose gradient norm is not finite is refused (skip mode
/// goes on, stop and rollback modes end the run as "diverged"), and non-finite sampling probabilities or
/// updated weights end it before anything of that step is sampled from or checkpointed.
/// </summary>
public static class RlRun
{
    public static TrainResult Run(ExperimentSpec spec, TrainOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Native.HeapReuse.Enable(); // freed activations stay in the heap for the next step (MODELDSL_MALLOC=system opts out)
        options ??= new TrainOptions();
        spec.EnsureValid();
        var rl = spec.Rl ?? throw new ArgumentException("the experiment has no rl section", nameof(spec));
        var init = spec.Init!;
        var training = spec.Training;
        var (dtype, device) = Trainer.DtypeAndDevice(training);
        if (training.Threads is { } threads) set_num_threads(threads);
        manual_seed(training.Seed);

        var task = TaskFactory.Create(spec.Task, training.Seed);
        Trainer.CheckInitArchitecture(spec, options);
        var warn = options.OnWarning ?? (message => Console.Error.WriteLine("warning: " + message));
        var run = options.RunDirectory is { } explicitPath ? RunDirectory.Open(explicitPath) : RunDirectory.CreateNew(options.RunsRoot, spec.Name, DateTime.Now);
        // One process per run directory, as for pre-training: a second one is refused with the holder's pid and host.
        using var runLock = RunLock.Acquire(run.Path, warn);
        foreach (var leftover in run.RemoveStaleTemporaryFiles()) warn($"removed '{leftover}', left by an interrupted write");
        run.WriteOrCheckSpec(spec);
        var specJson = SpecJson.Serialize(spec);

        using var policy = ModelCompiler.Build(spec.Model, dtype, device, training.Seed);
        // The divergence check (training.divergence): an update whose gradient norm is not finite is refused.
        using var optimizer = new GuardedOptimizer(OptimizerFactory.Create(training.Optimizer, policy.NamedParameters(), training.ClipGradNorm));
        // An RL step's tokens: every sampled completion with its prompt, the task's sequence length each.
        var tokensPerStep = (long)rl.CompletionsPerStep * task.SequenceLength;
        var totalSteps = training.Budget.Steps(tokensPerStep, policy.NonEmbeddingParameterCount);

        var store = new CheckpointStore(run.CheckpointsPath, training.Checkpoint.Keep);
        var latest = store.LatestValid(out var skipped);
        // The KL reference is the init model: on a resume the policy has moved on, so it is loaded from the source.
        using var reference = latest is not null && rl.Kl.UsesReference ? FrozenInit(init, spec, dtype, device) : null;
        if (latest is null) ModelLoader.LoadInto(init, policy, "init");
        using var trainer = new RlTrainer(rl, policy, optimizer, task, training.Seed, reference,
            learningRateMultiplier: step => training.Schedule.Multiplier(step, totalSteps));
        var priorSeconds = 0.0;
        if (latest is not null)
            priorSeconds = Checkpoint.Load(latest, policy, optimizer, specJson, trainer.LoadState).ElapsedSeconds;
        var startStep = trainer.StepCount;
        using var metrics = MetricsLog.Open(run.MetricsPath, startStep, options.TensorBoard ? run.TensorBoardPath : null);
        foreach (var problem in skipped)
            metrics.Write("checkpointSkipped", startStep, [new("reason", problem)]);

        var clock = Stopwatch.StartNew();
        EvalResult? lastEval = null;
        var ranFinalStep = false;
        DivergenceReport? diverged = null;
        while (trainer.StepCount < totalSteps)
        {
            var learningRate = training.Optimizer.Lr * training.Schedule.Multiplier(trainer.StepCount, totalSteps);
            var attempted = trainer.StepCount + 1;
            RlStepMetrics stepMetrics;
            try
            {
                stepMetrics = trainer.Step();
            }
            catch (Exception e) when (IsNonFiniteSampling(e))
            {
                // The policy's outputs overflowed (its weights are finite but too large): no completion can be sampled.
                diverged = Diverged(attempted, "sampling met non-finite probabilities (the policy's logits overflowed)");
                break;
            }
            if (optimizer.Problem is { } problem)
            {
                metrics.Write("divergence", attempted, [new("mode", training.Divergence.Mode.ToString()), new("problem", problem),
                    new("gradNorm", optimizer.RefusedGradNorm)]);
                optimizer.Clear();
                if (training.Divergence.Mode == Core.Training.DivergenceMode.Skip)
                    warn($"RL step {attempted}: {problem}; its update was skipped");
                else
                {
                    diverged = Diverged(attempted, problem);
                    break;
                }
            }
            // An update can leave finite gradients but non-finite weights (a huge learning rate): stop before they are sampled from or saved.
            if (Checkpoint.FirstNonFinite(policy, optimizer) is { } bad)
            {
                diverged = Diverged(attempted, $"the update left non-finite values in {bad}");
                break;
            }
            var step = trainer.StepCount;
            var sessionSeconds = clock.Elapsed.TotalSeconds;
            metrics.Write("rl", step, [.. stepMetrics.ToMetrics(), new("lr", learningRate), new("elapsedSeconds", priorSeconds + sessionSeconds)]);
            options.OnRlProgress?.Invoke(new RlProgress(step, totalSteps, stepMetrics.MeanReward, stepMetrics.Accuracy, learningRate,
                TimeSpan.FromSeconds(priorSeconds + sessionSeconds), TimeSpan.FromSeconds(sessionSeconds / (step - startStep) * (totalSteps - step))));

            var isFinal = step == totalSteps;
            if (isFinal || (training.Eval.Every > 0 && step % training.Eval.Every == 0))
            {
                lastEval = Evaluate(spec, rl, policy, task, device, step, metrics);
                options.OnEval?.Invoke(lastEval);
            }
            var cancelled = options.Cancellation.IsCancellationRequested;
            if (isFinal || cancelled || (training.Checkpoint.Every > 0 && step % training.Checkpoint.Every == 0))
                store.Save(new CheckpointHeader(step, specJson, [], priorSeconds + clock.Elapsed.TotalSeconds), policy, optimizer, trainer.SaveState);
            options.Cancellation.ThrowIfCancellationRequested();
            ranFinalStep = isFinal;
            if (options.StopAfterStep is { } stop && step >= stop && !isFinal) break;
        }

        var elapsed = TimeSpan.FromSeconds(priorSeconds + clock.Elapsed.TotalSeconds);
        if (diverged is not null)
        {
            // Nothing of the refused step is checkpointed: the newest checkpoint is the last good state.
            var applied = diverged.Step - 1;
            metrics.Write("diverged", diverged.Step, [new("problem", diverged.Problem)]);
            var sessionRate = (applied - startStep) * tokensPerStep / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
            RunSummary.Write(run.SummaryPath, new RunSummary(spec.Name, applied, applied * tokensPerStep, double.NaN, double.NaN, null,
                elapsed.TotalSeconds, sessionRate, policy.ParameterCount, policy.NonEmbeddingParameterCount, RunSummary.Diverged, diverged.Message));
            return new TrainResult(run.Path, applied, double.NaN, lastEval ?? new EvalResult(applied, double.NaN, null), [], elapsed, sessionRate)
                { Divergence = diverged };
        }
        var steps = trainer.StepCount;
        var tokensPerSecond = (steps - startStep) * tokensPerStep / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
        if (steps < totalSteps)
            return new TrainResult(run.Path, steps, double.NaN, lastEval ?? new EvalResult(steps, double.NaN, null), [], elapsed, tokensPerSecond);
        // A run that was already complete is evaluated again for its result but not logged again.
        var finalEval = ranFinalStep ? lastEval! : Evaluate(spec, rl, policy, task, device, steps, metrics: null);
        RunSummary.Write(run.SummaryPath, new RunSummary(spec.Name, steps, steps * tokensPerStep, double.NaN, finalEval.ValidationLoss,
            finalEval.Accuracy, elapsed.TotalSeconds, tokensPerSecond, policy.ParameterCount, policy.NonEmbeddingParameterCount));
        return new TrainResult(run.Path, steps, double.NaN, finalEval, [], elapsed, tokensPerSecond);
    }

    /// <summary>RL has no rollback: its stop and rollback modes both end the run (skip drops a step whose gradients are not finite).</summary>
    private static DivergenceReport Diverged(long step, string problem) => new(step, problem);

    /// <summary>libtorch refuses to sample from probabilities that hold NaN or infinity.</summary>
    private static bool IsNonFiniteSampling(Exception e) =>
        e.Message.Contains("probability tensor contains", StringComparison.Ordinal) || e.Message.Contains("invalid multinomial distribution", StringComparison.Ordinal);

    /// <summary>
    /// The sampling evaluation an RL run logs in its "eval" events when training.eval.sampling is not set:
    /// training.eval.problems held-out problems (at least one), G samples each at the rollout sampling
    /// settings, pass@1 and pass@G. Evaluation prompts never carry hints.
    /// </summary>
    public static SamplingEvalSpec DefaultSamplingEval(ExperimentSpec spec)
    {
        var rl = spec.Rl ?? throw new ArgumentException("the experiment has no rl section", nameof(spec));
        return new SamplingEvalSpec
        {
            Problems = Math.Max(1, spec.Training.Eval.Problems),
            Samples = rl.GroupSize,
            Ks = new[] { 1, rl.GroupSize },
            Sampling = rl.Sampling,
            Seed = spec.Training.Seed,
            BatchSize = Math.Max(rl.GroupSize, rl.MicroBatch),
        };
    }

    /// <summary>Held-out loss, greedy accuracy and pass@k of sampled completions; writes "eval" (and
    /// "sampling" when the spec asks for it) unless <paramref name="metrics"/> is null.</summary>
    private static EvalResult Evaluate(ExperimentSpec spec, RlSpec rl, LanguageModel policy, ITask task, Device device, long step, MetricsLog? metrics)
    {
        var training = spec.Training;
        var loss = Evaluator.ValidationLoss(policy, task, training.Eval.Batches, training.MicroBatch, device);
        var greedy = Evaluator.Accuracies(policy, task, training.Eval.Problems, training.MicroBatch, device,
            (prompts, newTokens) => ModelDsl.Runtime.Generation.Generator.Generate(policy, prompts, newTokens, new() { Temperature = 0 }));
        var sampling = SamplingEvaluator.Evaluate(policy, task, training.Eval.Sampling ?? DefaultSamplingEval(spec));
        if (metrics is not null)
        {
            metrics.Write("eval", step, [new("validationLoss", loss), new("accuracy", greedy?.Answer), new("fullMatchAccuracy", greedy?.FullCompletion),
                .. sampling.Scores.Select(s => new KeyValuePair<string, object?>($"pass@{s.K}", s.PassAtK)),
                new("passRateMean", sampling.PassRates.Mean)]);
            if (training.Eval.Sampling is not null) metrics.Write("sampling", step, SamplingMetrics.Of(sampling));
        }
        return new EvalResult(step, loss, greedy?.Answer, greedy?.FullCompletion);
    }

    private static LanguageModel FrozenInit(ModelSource init, ExperimentSpec spec, ScalarType dtype, Device device)
    {
        using var initial = ModelLoader.Load(init, spec.Model, dtype, device);
        return ReferencePolicy.FrozenCopy(initial);
    }
}
