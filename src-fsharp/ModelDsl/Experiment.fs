namespace ModelDsl

open ModelDsl.Core
open ModelDsl.Core.Validation

/// A whole pre-training experiment; lowers to the IR's ExperimentSpec.
type Experiment =
    { Name: string
      Model: Model
      Task: Task
      Training: Training }

    /// Sequences per optimizer step, and per forward/backward pass (default: the whole batch).
    static member batch(globalBatch: int, ?microBatch: int) =
        fun (experiment: Experiment) ->
            { experiment with
                Training =
                    { experiment.Training with
                        GlobalBatch = globalBatch
                        MicroBatch = defaultArg microBatch globalBatch } }

    /// Evaluate every N steps (0: only at the end) on held-out batches and verified problems;
    /// attentionStatistics adds sink mass, maximum activations and gate statistics to each evaluation.
    static member eval(every: int, ?batches: int, ?problems: int, ?attentionStatistics: bool) =
        fun (experiment: Experiment) ->
            let current = experiment.Training.Eval
            { experiment with
                Training =
                    { experiment.Training with
                        Eval =
                            { Every = every
                              Batches = defaultArg batches current.Batches
                              Problems = defaultArg problems current.Problems
                              AttentionStatistics = defaultArg attentionStatistics current.AttentionStatistics } } }

    /// Checkpoint every N steps (0: only at the end), keeping the most recent keep.
    static member checkpoint(every: int, ?keep: int) =
        fun (experiment: Experiment) ->
            { experiment with
                Training =
                    { experiment.Training with
                        Checkpoint = { Every = every; Keep = defaultArg keep experiment.Training.Checkpoint.Keep } } }

[<RequireQualifiedAccess>]
module Experiment =
    /// A pre-training experiment on the IR's default task and training settings.
    let pretrain (name: string) (model: Model) =
        { Name = name
          Model = model
          Task = Tasks.sparseParity (bits = 20, secret = 3)
          Training = Training.defaults }

    let name (name: string) (experiment: Experiment) = { experiment with Name = name }
    let model (edit: Model -> Model) (experiment: Experiment) = { experiment with Model = edit experiment.Model }
    let task (task: Task) (experiment: Experiment) = { experiment with Task = task }
    let training (edit: Training -> Training) (experiment: Experiment) = { experiment with Training = edit experiment.Training }

    let optimizer (optimizer: Optimizer) = training (fun t -> { t with Optimizer = optimizer })
    let schedule (schedule: Schedule) = training (fun t -> { t with Schedule = schedule })
    let budget (budget: Budget) = training (fun t -> { t with Budget = budget })
    /// Clip the global gradient norm to this value.
    let clip (maxNorm: float) = training (fun t -> { t with ClipGradNorm = Some maxNorm })
    let noClip experiment = training (fun t -> { t with ClipGradNorm = None }) experiment
    let seed (seed: int) = training (fun t -> { t with Seed = seed })
    /// "cpu", "cuda", "cuda:N" or "auto".
    let device (device: string) = training (fun t -> { t with Device = device })
    let precision (precision: Precision) = training (fun t -> { t with Precision = precision })
    let threads (count: int) = training (fun t -> { t with Threads = Some count })

    /// The IR record, unvalidated (lowering is total).
    let lower (experiment: Experiment) =
        ExperimentSpec(
            Name = experiment.Name,
            Model = Model.toSpec experiment.Model,
            Task = Task.toSpec experiment.Task,
            Training = Training.toSpec experiment.Training)

    /// The validated IR record, or every validation error with its path.
    let toSpec (experiment: Experiment) : Result<ExperimentSpec, ValidationError list> =
        let spec = lower experiment
        match List.ofSeq (spec.Validate()) with
        | [] -> Ok spec
        | errors -> Error errors

    /// The validated IR record; raises SpecValidationException listing every error.
    let toSpecOrFail (experiment: Experiment) = (lower experiment).EnsureValid()

/// Referencing the DSL assembly opens its namespace, so experiment scripts need no `open`.
[<assembly: AutoOpen("ModelDsl")>]
do ()
