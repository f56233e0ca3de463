namespace ModelDsl

open ModelDsl.Core.Training

/// AdamW hyperparameters (Loshchilov and Hutter 2019); Lr is the peak the schedule scales.
type AdamW = { Lr: float; WeightDecay: float; Beta1: float; Beta2: float; Eps: float }

[<RequireQualifiedAccess>]
module AdamW =
    /// The IR's defaults (lr 1e-3, weight decay 0.1, betas 0.9/0.95, eps 1e-8).
    let defaults =
        let spec = ModelDsl.Core.Training.AdamW()
        { Lr = spec.Lr; WeightDecay = spec.WeightDecay; Beta1 = spec.Beta1; Beta2 = spec.Beta2; Eps = spec.Eps }

/// An optimizer with its hyperparameters; Muon, Adam-mini, ... become further cases.
[<RequireQualifiedAccess>]
type Optimizer = AdamW of AdamW

[<RequireQualifiedAccess>]
module Optim =
    let adamW (settings: AdamW) = Optimizer.AdamW settings

    let toSpec (optimizer: Optimizer) : OptimizerSpec =
        match optimizer with
        | Optimizer.AdamW a ->
            ModelDsl.Core.Training.AdamW(Lr = a.Lr, WeightDecay = a.WeightDecay, Beta1 = a.Beta1, Beta2 = a.Beta2, Eps = a.Eps)

/// Learning-rate multiplier over the run; durations are fractions of the total steps.
type Schedule =
    /// Linear warmup, then the peak rate.
    | Constant of warmup: float
    /// Linear warmup, then cosine down to minRatio * peak.
    | WarmupCosine of warmup: float * minRatio: float
    /// Warmup, plateau, then linear decay to minRatio * peak over the last decayFraction.
    | WarmupStableDecay of warmup: float * decayFraction: float * minRatio: float

    static member constant(?warmup: float) = Constant(defaultArg warmup 0.0)

    static member warmupCosine(?warmup: float, ?minRatio: float) =
        WarmupCosine(defaultArg warmup 0.0, defaultArg minRatio (ModelDsl.Core.Training.WarmupCosine().MinRatio))

    static member wsd(?warmup: float, ?decayFraction: float, ?minRatio: float) =
        let spec = ModelDsl.Core.Training.WarmupStableDecay()
        WarmupStableDecay(defaultArg warmup 0.0, defaultArg decayFraction spec.DecayFraction, defaultArg minRatio spec.MinRatio)

[<RequireQualifiedAccess>]
module Schedule =
    let toSpec (schedule: Schedule) : ScheduleSpec =
        match schedule with
        | Constant warmup -> ConstantSchedule(WarmupFraction = warmup)
        | WarmupCosine(warmup, minRatio) -> ModelDsl.Core.Training.WarmupCosine(WarmupFraction = warmup, MinRatio = minRatio)
        | WarmupStableDecay(warmup, decay, minRatio) ->
            ModelDsl.Core.Training.WarmupStableDecay(WarmupFraction = warmup, DecayFraction = decay, MinRatio = minRatio)

/// How long to train; every budget resolves to whole optimizer steps.
type Budget =
    | Steps of int64
    | Tokens of int64
    /// Ratio * 20 tokens per non-embedding parameter (Hoffmann et al. 2022).
    | Chinchilla of ratio: float

[<RequireQualifiedAccess>]
module Budget =
    let steps (count: int64) = Steps count
    let tokens (count: int64) = Tokens count
    let chinchilla (ratio: float) = Chinchilla ratio

    let toSpec (budget: Budget) : BudgetSpec =
        match budget with
        | Steps n -> StepBudget n
        | Tokens n -> TokenBudget n
        | Chinchilla ratio -> ChinchillaBudget ratio

type Precision =
    | Float32
    | Float64
    /// fp32 master weights, bf16 compute copies.
    | BFloat16Mixed

/// Evaluation cadence: every N steps (0: only at the end), held-out batches, verified problems.
type Eval = { Every: int; Batches: int; Problems: int }

/// Checkpoint cadence: every N steps (0: only at the end), keeping the most recent Keep.
type Checkpoint = { Every: int; Keep: int }

/// Everything about how a model is trained, apart from the data.
type Training =
    { Optimizer: Optimizer
      Schedule: Schedule
      Budget: Budget
      /// Sequences per optimizer step.
      GlobalBatch: int
      /// Sequences per forward/backward pass (GlobalBatch / MicroBatch are accumulated).
      MicroBatch: int
      /// None disables gradient clipping.
      ClipGradNorm: float option
      Eval: Eval
      Checkpoint: Checkpoint
      Seed: int
      /// "cpu", "cuda", "cuda:N" or "auto".
      Device: string
      Precision: Precision
      /// libtorch CPU threads; None keeps libtorch's default.
      Threads: int option }

[<RequireQualifiedAccess>]
module Training =
    /// The IR's defaults (AdamW, warmup-cosine with 5% warmup, 1000 steps, batch 32, clip 1.0, cpu).
    let defaults =
        let spec = TrainingSpec()
        let schedule =
            match spec.Schedule with
            | :? ModelDsl.Core.Training.WarmupCosine as s -> WarmupCosine(s.WarmupFraction, s.MinRatio)
            | _ -> Schedule.warmupCosine ()
        let budget =
            match spec.Budget with
            | :? StepBudget as b -> Steps b.Count
            | _ -> Steps 1000L
        { Optimizer = Optim.adamW AdamW.defaults
          Schedule = schedule
          Budget = budget
          GlobalBatch = spec.GlobalBatch
          MicroBatch = spec.MicroBatch
          ClipGradNorm = Option.ofNullable spec.ClipGradNorm
          Eval = { Every = spec.Eval.Every; Batches = spec.Eval.Batches; Problems = spec.Eval.Problems }
          Checkpoint = { Every = spec.Checkpoint.Every; Keep = spec.Checkpoint.Keep }
          Seed = spec.Seed
          Device = spec.Device
          Precision = Float32
          Threads = Option.ofNullable spec.Threads }

    let toSpec (training: Training) =
        TrainingSpec(
            Optimizer = Optim.toSpec training.Optimizer,
            Schedule = Schedule.toSpec training.Schedule,
            Budget = Budget.toSpec training.Budget,
            GlobalBatch = training.GlobalBatch,
            MicroBatch = training.MicroBatch,
            ClipGradNorm = Option.toNullable training.ClipGradNorm,
            Eval = EvalSpec(Every = training.Eval.Every, Batches = training.Eval.Batches, Problems = training.Eval.Problems),
            Checkpoint = CheckpointSpec(Every = training.Checkpoint.Every, Keep = training.Checkpoint.Keep),
            Seed = training.Seed,
            Device = training.Device,
            Precision =
                (match training.Precision with
                 | Float32 -> ModelDsl.Core.Training.Precision.Float32
                 | Float64 -> ModelDsl.Core.Training.Precision.Float64
                 | BFloat16Mixed -> ModelDsl.Core.Training.Precision.BFloat16Mixed),
            Threads = Option.toNullable training.Threads)
