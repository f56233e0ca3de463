namespace ModelDsl.Runtime.Training;

/// <summary>Reported after every optimizer step. Step counts completed steps (1 .. TotalSteps).</summary>
public sealed record TrainProgress(long Step, long TotalSteps, double Loss, double LearningRate, double GradNorm,
    double TokensPerSecond, TimeSpan Elapsed, TimeSpan Eta);

/// <summary>Held-out loss and, for tasks with a verifier, accuracy after <see cref="Step"/> optimizer steps.</summary>
/// FullMatchAccuracy counts completions that reproduce every reference token (chain of thought included).
public sealed record EvalResult(long Step, double ValidationLoss, double? Accuracy, double? FullMatchAccuracy = null);

/// <summary>
/// The outcome of a run. TrainLosses holds the global-batch loss of every completed step (index i is
/// step i + 1), including steps done before a resume. When a run stops early (StopAfterStep),
/// FinalEval is the last evaluation made, or NaN loss at the stopping step if there was none.
/// </summary>
public sealed record TrainResult(string RunDirectory, long Steps, double FinalTrainLoss, EvalResult FinalEval,
    IReadOnlyList<double> TrainLosses, TimeSpan Elapsed, double TokensPerSecond)
{
    /// <summary>Set when the divergence policy ended the run (Steps is then the last applied step).</summary>
    public DivergenceReport? Divergence { get; init; }
}

public sealed class TrainOptions
{
    /// <summary>Parent folder of new run directories.</summary>
    public string RunsRoot { get; init; } = "runs";
    /// <summary>An explicit run directory; when it holds a valid checkpoint the run resumes from the latest one.</summary>
    public string? RunDirectory { get; init; }
    /// <summary>Stop after this many completed steps as if interrupted (no final evaluation or checkpoint).</summary>
    public long? StopAfterStep { get; init; }
    public Action<TrainProgress>? OnProgress { get; init; }
    public Action<EvalResult>? OnEval { get; init; }
    /// <summary>For RL experiments (ExperimentSpec.Rl), called after every RL step instead of <see cref="OnProgress"/>.</summary>
    public Action<ModelDsl.Runtime.Rl.RlProgress>? OnRlProgress { get; init; }
    /// <summary>For preference experiments (ExperimentSpec.Preference), called after every step instead of <see cref="OnProgress"/>.</summary>
    public Action<ModelDsl.Runtime.Vision.PreferenceProgress>? OnPreferenceProgress { get; init; }
    /// <summary>Sums each MoE layer's per-micro-batch expert counts over data-parallel replicas for
    /// global-batch balancing; null means a single process (identity).</summary>
    public ModelDsl.Runtime.Moe.IExpertLoadReducer? ExpertLoadReducer { get; init; }
    /// <summary>The data-parallel collective this process trains with; null: the one mpirun's environment
    /// announces (Distributed/DataParallelLaunch), a single process outside mpirun.</summary>
    public ModelDsl.Runtime.Distributed.ICollective? Collective { get; init; }
    /// <summary>For models with mixture-of-experts layers: after every optimizer step, each layer's
    /// routing over that step's global batch (per domain when the task is a mixture).</summary>
    public Action<long, IReadOnlyList<ModelDsl.Runtime.Eval.LayerRouting>>? OnRouting { get; init; }
    /// <summary>For models with mixture-of-experts layers: at every evaluation, each layer's routing
    /// over the validation batches, per domain.</summary>
    public Action<long, IReadOnlyList<ModelDsl.Runtime.Eval.LayerRouting>>? OnRoutingEval { get; init; }
    /// <summary>Warnings (checkpoints skipped, stale locks or temporary files removed, skipped steps);
    /// standard error when null.</summary>
    public Action<string>? OnWarning { get; init; }
    /// <summary>Train from scratch even though the run directory holds checkpoints, none of which can be resumed.</summary>
    public bool StartOverUnusableCheckpoints { get; init; }
    /// <summary>Also mirror metrics.jsonl to TensorBoard event files in the run's <c>tensorboard/</c> folder.</summary>
    public bool TensorBoard { get; init; }
    /// <summary>Cancelling writes a checkpoint at the current step, then throws <see cref="TrainingInterruptedException"/>
    /// (an <see cref="OperationCanceledException"/>).</summary>
    public CancellationToken Cancellation { get; init; }
    /// <summary>When set, every applied step is timed by phase (Stopwatch reads only) and reported here
    /// after its metrics are written; null (the default) times nothing.</summary>
    public Action<StepTimings>? OnStepTimings { get; init; }
}
