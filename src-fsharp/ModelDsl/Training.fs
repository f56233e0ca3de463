namespace ModelDsl

open ModelDsl.Core.Training

// Optimizer hyperparameters, one record each; every `defaults` reads the IR's defaults (the papers'
// values, see ModelDsl.Core/Training/Optimizers). Lr is the peak the schedule scales; weight decay
// is decoupled and scaled by the scheduled LR. AdamW is declared last so that a bare record
// expression with its five fields is read as AdamW.

/// NAdamW (Dozat 2016): Adam with a Nesterov first moment.
type NAdamW = { Lr: float; WeightDecay: float; Beta1: float; Beta2: float; Eps: float }

[<RequireQualifiedAccess>]
module NAdamW =
    let defaults =
        let s = ModelDsl.Core.Training.NAdamW()
        { Lr = s.Lr; WeightDecay = s.WeightDecay; Beta1 = s.Beta1; Beta2 = s.Beta2; Eps = s.Eps }

/// MARS-AdamW (Yuan et al. 2024): variance-reduced gradient with correction strength Gamma.
type Mars = { Lr: float; WeightDecay: float; Beta1: float; Beta2: float; Gamma: float; Eps: float }

[<RequireQualifiedAccess>]
module Mars =
    let defaults =
        let s = ModelDsl.Core.Training.Mars()
        { Lr = s.Lr; WeightDecay = s.WeightDecay; Beta1 = s.Beta1; Beta2 = s.Beta2; Gamma = s.Gamma; Eps = s.Eps }

/// Cautious AdamW (Liang et al. 2024): update entries whose sign disagrees with the gradient are dropped.
type Cautious = { Lr: float; WeightDecay: float; Beta1: float; Beta2: float; Eps: float; MaskMeanFloor: float }

[<RequireQualifiedAccess>]
module Cautious =
    let defaults =
        let s = ModelDsl.Core.Training.Cautious()
        { Lr = s.Lr; WeightDecay = s.WeightDecay; Beta1 = s.Beta1; Beta2 = s.Beta2; Eps = s.Eps; MaskMeanFloor = s.MaskMeanFloor }

/// Lion (Chen et al. 2023): sign of an interpolated momentum.
type Lion = { Lr: float; WeightDecay: float; Beta1: float; Beta2: float }

[<RequireQualifiedAccess>]
module Lion =
    let defaults =
        let s = ModelDsl.Core.Training.Lion()
        { Lr = s.Lr; WeightDecay = s.WeightDecay; Beta1 = s.Beta1; Beta2 = s.Beta2 }

/// Adam-mini (Zhang et al. 2024): one second moment per block (head, output row, tensor).
type AdamMini = { Lr: float; WeightDecay: float; Beta1: float; Beta2: float; Eps: float }

[<RequireQualifiedAccess>]
module AdamMini =
    let defaults =
        let s = ModelDsl.Core.Training.AdamMini()
        { Lr = s.Lr; WeightDecay = s.WeightDecay; Beta1 = s.Beta1; Beta2 = s.Beta2; Eps = s.Eps }

/// Muon (Jordan et al. 2024): orthogonalised momentum on hidden matrices; AdamW at AdamLrRatio x Lr elsewhere.
type Muon =
    { Lr: float; WeightDecay: float; Momentum: float; Nesterov: bool; NewtonSchulzSteps: int
      AdamLrRatio: float; AdamBeta1: float; AdamBeta2: float; AdamEps: float }

[<RequireQualifiedAccess>]
module Muon =
    let defaults =
        let s = ModelDsl.Core.Training.Muon()
        { Lr = s.Lr; WeightDecay = s.WeightDecay; Momentum = s.Momentum; Nesterov = s.Nesterov; NewtonSchulzSteps = s.NewtonSchulzSteps
          AdamLrRatio = s.AdamLrRatio; AdamBeta1 = s.AdamBeta1; AdamBeta2 = s.AdamBeta2; AdamEps = s.AdamEps }

/// Scion (Pethick et al. 2025): spectral steps on hidden matrices, signum at SignumLrRatio x Lr elsewhere.
type Scion = { Lr: float; WeightDecay: float; Momentum: float; NewtonSchulzSteps: int; SignumLrRatio: float }

[<RequireQualifiedAccess>]
module Scion =
    let defaults =
        let s = ModelDsl.Core.Training.Scion()
        { Lr = s.Lr; WeightDecay = s.WeightDecay; Momentum = s.Momentum; NewtonSchulzSteps = s.NewtonSchulzSteps; SignumLrRatio = s.SignumLrRatio }

/// SOAP (Vyas et al. 2024): Adam in the eigenbasis of Shampoo's preconditioners.
type Soap =
    { Lr: float; WeightDecay: float; Beta1: float; Beta2: float; ShampooBeta: float; Eps: float
      PreconditionFrequency: int; MaxPreconditionerDim: int }

[<RequireQualifiedAccess>]
module Soap =
    let defaults =
        let s = ModelDsl.Core.Training.Soap()
        { Lr = s.Lr; WeightDecay = s.WeightDecay; Beta1 = s.Beta1; Beta2 = s.Beta2; ShampooBeta = s.ShampooBeta; Eps = s.Eps
          PreconditionFrequency = s.PreconditionFrequency; MaxPreconditionerDim = s.MaxPreconditionerDim }

/// Sophia-H (Liu et al. 2023): momentum over a Hutchinson diagonal Hessian, clipped element-wise.
type SophiaH = { Lr: float; WeightDecay: float; Beta1: float; Beta2: float; Gamma: float; Eps: float; HessianInterval: int }

[<RequireQualifiedAccess>]
module SophiaH =
    let defaults =
        let s = ModelDsl.Core.Training.SophiaH()
        { Lr = s.Lr; WeightDecay = s.WeightDecay; Beta1 = s.Beta1; Beta2 = s.Beta2; Gamma = s.Gamma; Eps = s.Eps; HessianInterval = s.HessianInterval }

/// PSGD Kron (Li 2018): Kronecker-factored preconditioner fitted with a decaying probability.
type Kron =
    { Lr: float; WeightDecay: float; Beta1: float; PreconditionerLr: float; PreconditionerInitScale: float
      MaxTriangularDim: int; FlatStart: int; ProbabilityDecay: float; MinUpdateProbability: float }

[<RequireQualifiedAccess>]
module Kron =
    let defaults =
        let s = ModelDsl.Core.Training.Kron()
        { Lr = s.Lr; WeightDecay = s.WeightDecay; Beta1 = s.Beta1; PreconditionerLr = s.PreconditionerLr
          PreconditionerInitScale = s.PreconditionerInitScale; MaxTriangularDim = s.MaxTriangularDim; FlatStart = s.FlatStart
          ProbabilityDecay = s.ProbabilityDecay; MinUpdateProbability = s.MinUpdateProbability }

/// AdamW hyperparameters (Loshchilov and Hutter 2019).
type AdamW = { Lr: float; WeightDecay: float; Beta1: float; Beta2: float; Eps: float }

[<RequireQualifiedAccess>]
module AdamW =
    /// The IR's defaults (lr 1e-3, weight decay 0.1, betas 0.9/0.95, eps 1e-8).
    let defaults =
        let spec = ModelDsl.Core.Training.AdamW()
        { Lr = spec.Lr; WeightDecay = spec.WeightDecay; Beta1 = spec.Beta1; Beta2 = spec.Beta2; Eps = spec.Eps }

/// An optimizer with its hyperparameters.
[<RequireQualifiedAccess>]
type Optimizer =
    | AdamW of AdamW
    | NAdamW of NAdamW
    | Mars of Mars
    | Cautious of Cautious
    | Lion of Lion
    | AdamMini of AdamMini
    | Muon of Muon
    | Scion of Scion
    | Soap of Soap
    | SophiaH of SophiaH
    | Kron of Kron

[<RequireQualifiedAccess>]
module Optim =
    let adamW (settings: AdamW) = Optimizer.AdamW settings
    let nAdamW (settings: NAdamW) = Optimizer.NAdamW settings
    let mars (settings: Mars) = Optimizer.Mars settings
    let cautious (settings: Cautious) = Optimizer.Cautious settings
    let lion (settings: Lion) = Optimizer.Lion settings
    let adamMini (settings: AdamMini) = Optimizer.AdamMini settings
    let muon (settings: Muon) = Optimizer.Muon settings
    let scion (settings: Scion) = Optimizer.Scion settings
    let soap (settings: Soap) = Optimizer.Soap settings
    let sophiaH (settings: SophiaH) = Optimizer.SophiaH settings
    let kron (settings: Kron) = Optimizer.Kron settings

    let toSpec (optimizer: Optimizer) : OptimizerSpec =
        match optimizer with
        | Optimizer.AdamW a ->
            ModelDsl.Core.Training.AdamW(Lr = a.Lr, WeightDecay = a.WeightDecay, Beta1 = a.Beta1, Beta2 = a.Beta2, Eps = a.Eps)
        | Optimizer.NAdamW a ->
            ModelDsl.Core.Training.NAdamW(Lr = a.Lr, WeightDecay = a.WeightDecay, Beta1 = a.Beta1, Beta2 = a.Beta2, Eps = a.Eps)
        | Optimizer.Mars a ->
            ModelDsl.Core.Training.Mars(Lr = a.Lr, WeightDecay = a.WeightDecay, Beta1 = a.Beta1, Beta2 = a.Beta2, Gamma = a.Gamma, Eps = a.Eps)
        | Optimizer.Cautious a ->
            ModelDsl.Core.Training.Cautious(
                Lr = a.Lr, WeightDecay = a.WeightDecay, Beta1 = a.Beta1, Beta2 = a.Beta2, Eps = a.Eps, MaskMeanFloor = a.MaskMeanFloor)
        | Optimizer.Lion a -> ModelDsl.Core.Training.Lion(Lr = a.Lr, WeightDecay = a.WeightDecay, Beta1 = a.Beta1, Beta2 = a.Beta2)
        | Optimizer.AdamMini a ->
            ModelDsl.Core.Training.AdamMini(Lr = a.Lr, WeightDecay = a.WeightDecay, Beta1 = a.Beta1, Beta2 = a.Beta2, Eps = a.Eps)
        | Optimizer.Muon a ->
            ModelDsl.Core.Training.Muon(
                Lr = a.Lr, WeightDecay = a.WeightDecay, Momentum = a.Momentum, Nesterov = a.Nesterov, NewtonSchulzSteps = a.NewtonSchulzSteps,
                AdamLrRatio = a.AdamLrRatio, AdamBeta1 = a.AdamBeta1, AdamBeta2 = a.AdamBeta2, AdamEps = a.AdamEps)
        | Optimizer.Scion a ->
            ModelDsl.Core.Training.Scion(
                Lr = a.Lr, WeightDecay = a.WeightDecay, Momentum = a.Momentum, NewtonSchulzSteps = a.NewtonSchulzSteps, SignumLrRatio = a.SignumLrRatio)
        | Optimizer.Soap a ->
            ModelDsl.Core.Training.Soap(
                Lr = a.Lr, WeightDecay = a.WeightDecay, Beta1 = a.Beta1, Beta2 = a.Beta2, ShampooBeta = a.ShampooBeta, Eps = a.Eps,
                PreconditionFrequency = a.PreconditionFrequency, MaxPreconditionerDim = a.MaxPreconditionerDim)
        | Optimizer.SophiaH a ->
            ModelDsl.Core.Training.SophiaH(
                Lr = a.Lr, WeightDecay = a.WeightDecay, Beta1 = a.Beta1, Beta2 = a.Beta2, Gamma = a.Gamma, Eps = a.Eps, HessianInterval = a.HessianInterval)
        | Optimizer.Kron a ->
            ModelDsl.Core.Training.Kron(
                Lr = a.Lr, WeightDecay = a.WeightDecay, Beta1 = a.Beta1, PreconditionerLr = a.PreconditionerLr,
                PreconditionerInitScale = a.PreconditionerInitScale, MaxTriangularDim = a.MaxTriangularDim, FlatStart = a.FlatStart,
                ProbabilityDecay = a.ProbabilityDecay, MinUpdateProbability = a.MinUpdateProbability)

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
type Eval = { Every: int; Batches: int; Problems: int; AttentionStatistics: bool }

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
          Eval = { Every = spec.Eval.Every; Batches = spec.Eval.Batches; Problems = spec.Eval.Problems; AttentionStatistics = spec.Eval.AttentionStatistics }
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
            Eval = EvalSpec(Every = training.Eval.Every, Batches = training.Eval.Batches, Problems = training.Eval.Problems, AttentionStatistics = training.Eval.AttentionStatistics),
            Checkpoint = CheckpointSpec(Every = training.Checkpoint.Every, Keep = training.Checkpoint.Keep),
            Seed = training.Seed,
            Device = training.Device,
            Precision =
                (match training.Precision with
                 | Float32 -> ModelDsl.Core.Training.Precision.Float32
                 | Float64 -> ModelDsl.Core.Training.Precision.Float64
                 | BFloat16Mixed -> ModelDsl.Core.Training.Precision.BFloat16Mixed),
            Threads = Option.toNullable training.Threads)
