using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Training;

public enum Precision
{
    /// <summary>fp32 weights and compute.</summary>
    Float32,
    /// <summary>fp64 weights and compute (for exactness checks).</summary>
    Float64,
    /// <summary>fp32 master weights, bf16 compute copies. Not implemented yet: validation refuses it.</summary>
    BFloat16Mixed,
}

/// <summary>Everything about how a model is trained, apart from the data.</summary>
public sealed record TrainingSpec
{
    public OptimizerSpec Optimizer { get; init; } = new AdamW();
    public ScheduleSpec Schedule { get; init; } = new WarmupCosine { WarmupFraction = 0.05 };
    public BudgetSpec Budget { get; init; } = new StepBudget(1000);
    /// <summary>Sequences per optimizer step.</summary>
    public int GlobalBatch { get; init; } = 32;
    /// <summary>Sequences per forward/backward pass; GlobalBatch / MicroBatch passes are accumulated.</summary>
    public int MicroBatch { get; init; } = 32;
    /// <summary>Clip the global gradient norm to this value; null disables clipping.</summary>
    public double? ClipGradNorm { get; init; } = 1.0;
    public EvalSpec Eval { get; init; } = new();
    public CheckpointSpec Checkpoint { get; init; } = new();
    /// <summary>What a non-finite loss or gradient norm does to the run (checked before every update).</summary>
    public DivergenceSpec Divergence { get; init; } = new();
    public int Seed { get; init; } = 1234;
    /// <summary>"cpu", "cuda", "cuda:N" or "auto" (cuda when available).</summary>
    public string Device { get; init; } = "cpu";
    public Precision Precision { get; init; } = Precision.Float32;
    /// <summary>CPU threads for libtorch; null keeps libtorch's default.</summary>
    public int? Threads { get; init; }

    [System.Text.Json.Serialization.JsonIgnore]
    public int AccumulationSteps => MicroBatch > 0 ? GlobalBatch / MicroBatch : 0;

    public void Validate(Validator v, string path)
    {
        if (Optimizer is null) v.Fail($"{path}.optimizer", "is missing"); else Optimizer.Validate(v, $"{path}.optimizer");
        if (Schedule is null) v.Fail($"{path}.schedule", "is missing"); else Schedule.Validate(v, $"{path}.schedule");
        if (Budget is null) v.Fail($"{path}.budget", "is missing"); else Budget.Validate(v, $"{path}.budget");
        v.Require(GlobalBatch >= 1, $"{path}.globalBatch", $"{GlobalBatch} must be at least 1");
        v.Require(GlobalBatch <= SizeLimits.GlobalBatch, $"{path}.globalBatch", $"{GlobalBatch} is over the limit {SizeLimits.GlobalBatch}");
        v.Require(MicroBatch >= 1, $"{path}.microBatch", $"{MicroBatch} must be at least 1");
        if (GlobalBatch >= 1 && MicroBatch >= 1)
            v.Require(GlobalBatch % MicroBatch == 0, $"{path}.microBatch",
                $"{MicroBatch} does not divide globalBatch {GlobalBatch} (gradient accumulation needs a whole number of micro-batches)");
        if (ClipGradNorm is { } clip) v.Positive(clip, $"{path}.clipGradNorm");
        if (Eval is null) v.Fail($"{path}.eval", "is missing"); else Eval.Validate(v, $"{path}.eval");
        if (Checkpoint is null) v.Fail($"{path}.checkpoint", "is missing"); else Checkpoint.Validate(v, $"{path}.checkpoint");
        if (Divergence is null) v.Fail($"{path}.divergence", "is missing"); else Divergence.Validate(v, $"{path}.divergence");
        v.Require(Device is "cpu" or "auto" || (Device?.StartsWith("cuda") ?? false), $"{path}.device",
            $"'{Device}' is not a device (use cpu, cuda, cuda:N or auto)");
        v.Require(Enum.IsDefined(Precision), $"{path}.precision", $"{Precision} is not a known precision");
        // Declared so that specs can name it, refused until the runtime has a policy for it: a spec that validates must run.
        v.Require(Precision != Precision.BFloat16Mixed, $"{path}.precision",
            "bFloat16Mixed (fp32 master weights, bf16 compute) is not implemented yet; use float32 (or float64 for exactness checks)");
        if (Threads is { } t) v.Require(t >= 1, $"{path}.threads", $"{t} must be at least 1");
    }
}

/// <summary>Evaluation cadence. Evaluation always also runs at the end of the budget.</summary>
public sealed record EvalSpec
{
    /// <summary>Evaluate every this many optimizer steps; 0 means only at the end.</summary>
    public int Every { get; init; } = 100;
    /// <summary>Validation batches (of MicroBatch sequences) averaged for the held-out loss.</summary>
    public int Batches { get; init; } = 4;
    /// <summary>Problems generated and checked by the task's verifier for accuracy; 0 skips it.</summary>
    public int Problems { get; init; } = 256;
    /// <summary>Also measure, on the first validation batch, the attention-sink mass per layer and
    /// head, the largest hidden activation per layer and the gate statistics (arXiv 2505.06708).
    /// Off by default: it runs attention with explicit probabilities.</summary>
    public bool AttentionStatistics { get; init; }
    /// <summary>Also sample held-out problems at every evaluation and log pass@k, maj@k and the pass-rate
    /// statistics (event "sampling"); null: off. Omitted from JSON when null.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public FineTune.SamplingEvalSpec? Sampling { get; init; }

    public void Validate(Validator v, string path)
    {
        Sampling?.Validate(v, $"{path}.sampling");
        v.Require(Every >= 0, $"{path}.every", $"{Every} must be zero (end only) or positive");
        v.Require(Batches >= 1, $"{path}.batches", $"{Batches} must be at least 1");
        v.Require(Problems >= 0, $"{path}.problems", $"{Problems} must be zero or positive");
    }
}

/// <summary>Checkpoint cadence. Checkpoints are written atomically (temporary file, then rename) with a checksum.</summary>
public sealed record CheckpointSpec
{
    /// <summary>Write every this many optimizer steps; 0 means only at the end.</summary>
    public int Every { get; init; } = 500;
    /// <summary>How many of the most recent checkpoints to keep.</summary>
    public int Keep { get; init; } = 2;
    /// <summary>Also write one when this many minutes of training passed since the last; null disables.
    /// Wall-clock checkpoints change when state is saved, never what is computed.</summary>
    public double? EveryMinutes { get; init; }

    public void Validate(Validator v, string path)
    {
        if (EveryMinutes is { } minutes) v.Positive(minutes, $"{path}.everyMinutes");
        v.Require(Every >= 0, $"{path}.every", $"{Every} must be zero (end only) or positive");
        v.Require(Keep >= 1, $"{path}.keep", $"{Keep} must be at least 1");
    }
}
