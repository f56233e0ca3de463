namespace ModelDsl

open ModelDsl.Core.Training

/// Learning-rate schedules (the IR's ScheduleSpec kinds) with named optional arguments; durations
/// are fractions of the total steps. Optimizers need no helper: `AdamW(Lr = 3e-3, WeightDecay = 0.01)`.
[<AbstractClass; Sealed>]
type Schedule =
    /// Linear warmup, then the peak rate.
    static member constant(?warmup: float) : ScheduleSpec = ConstantSchedule(WarmupFraction = defaultArg warmup 0.0)

    /// Linear warmup, then cosine down to minRatio * peak (default 0.1).
    static member warmupCosine(?warmup: float, ?minRatio: float) : ScheduleSpec =
        let defaults = WarmupCosine()
        WarmupCosine(WarmupFraction = defaultArg warmup 0.0, MinRatio = defaultArg minRatio defaults.MinRatio)

    /// Warmup, plateau, then linear decay to minRatio * peak over the last decayFraction (default 0.2).
    static member wsd(?warmup: float, ?decayFraction: float, ?minRatio: float) : ScheduleSpec =
        let defaults = WarmupStableDecay()
        WarmupStableDecay(
            WarmupFraction = defaultArg warmup 0.0,
            DecayFraction = defaultArg decayFraction defaults.DecayFraction,
            MinRatio = defaultArg minRatio defaults.MinRatio)

/// How long to train (the IR's BudgetSpec kinds); every budget resolves to whole optimizer steps.
[<RequireQualifiedAccess>]
module Budget =
    let steps (count: int64) : BudgetSpec = StepBudget count
    let tokens (count: int64) : BudgetSpec = TokenBudget count
    /// ratio * 20 tokens per non-embedding parameter (Hoffmann et al. 2022).
    let chinchilla (ratio: float) : BudgetSpec = ChinchillaBudget ratio
