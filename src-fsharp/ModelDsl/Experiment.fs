namespace ModelDsl

open ModelDsl.Core
open ModelDsl.Core.Model
open ModelDsl.Core.Tasks
open ModelDsl.Core.Training
open ModelDsl.Core.Validation
open ModelDsl.Core.FineTune
open ModelDsl.Core.Generation
open ModelDsl.Core.Rl

/// Pipeline steps with named optional arguments over the IR's ExperimentSpec.
[<AbstractClass; Sealed>]
type Experiment =
    /// Sequences per optimizer step, and per forward/backward pass (default: the whole batch).
    static member batch(globalBatch: int, ?microBatch: int) =
        fun (experiment: ExperimentSpec) ->
            let training = experiment.Training
            let training = Ir.With(training, training.GlobalBatch, globalBatch)
            Ir.With(experiment, experiment.Training, Ir.With(training, training.MicroBatch, defaultArg microBatch globalBatch))

    /// Evaluate every N steps (0: only at the end) on held-out batches and verified problems;
    /// attentionStatistics adds sink mass, maximum activations and gate statistics to each evaluation.
    static member eval(every: int, ?batches: int, ?problems: int, ?attentionStatistics: bool) =
        fun (experiment: ExperimentSpec) ->
            let current = experiment.Training.Eval
            let eval =
                EvalSpec(
                    Every = every,
                    Batches = defaultArg batches current.Batches,
                    Problems = defaultArg problems current.Problems,
                    AttentionStatistics = defaultArg attentionStatistics current.AttentionStatistics)
            Ir.With(experiment, experiment.Training, Ir.With(experiment.Training, experiment.Training.Eval, eval))

    /// Checkpoint every N steps (0: only at the end), keeping the most recent keep.
    static member checkpoint(every: int, ?keep: int) =
        fun (experiment: ExperimentSpec) ->
            let checkpoint = CheckpointSpec(Every = every, Keep = defaultArg keep experiment.Training.Checkpoint.Keep)
            Ir.With(experiment, experiment.Training, Ir.With(experiment.Training, experiment.Training.Checkpoint, checkpoint))

    /// At every evaluation, also sample `samples` completions for each of `problems` held-out problems
    /// and log pass@k, maj@k and the pass-rate statistics for every k in `ks` (event "sampling").
    static member samplingEval(?problems: int, ?samples: int, ?ks: int list, ?temperature: float, ?seed: int64, ?batchSize: int) =
        fun (experiment: ExperimentSpec) ->
            let defaults = SamplingEvalSpec()
            let samples = defaultArg samples defaults.Samples
            let sampling =
                SamplingEvalSpec(
                    Problems = defaultArg problems defaults.Problems,
                    Samples = samples,
                    Ks = (match ks with
                          | Some ks -> ValueList.Of(Array.ofList ks)
                          | None -> ValueList.Of(defaults.Ks |> Seq.filter (fun k -> k <= samples) |> Array.ofSeq)),
                    Sampling = SamplingSpec(Temperature = defaultArg temperature defaults.Sampling.Temperature),
                    Seed = defaultArg seed defaults.Seed,
                    BatchSize = defaultArg batchSize defaults.BatchSize)
            let training = experiment.Training
            Ir.With(experiment, experiment.Training, Ir.With(training, training.Eval, Ir.With(training.Eval, training.Eval.Sampling, sampling)))

[<RequireQualifiedAccess>]
module Experiment =
    /// A pre-training experiment on the IR's default task (Parity(20, 3) with CoT) and training settings.
    let pretrain (name: string) (model: ModelSpec) = ExperimentSpec(Name = name, Model = model)

    let name (name: string) (experiment: ExperimentSpec) = Ir.With(experiment, experiment.Name, name)
    let model (edit: ModelSpec -> ModelSpec) (experiment: ExperimentSpec) = Ir.With(experiment, experiment.Model, edit experiment.Model)
    let task (task: TaskSpec) (experiment: ExperimentSpec) = Ir.With(experiment, experiment.Task, task)
    let training (edit: TrainingSpec -> TrainingSpec) (experiment: ExperimentSpec) =
        Ir.With(experiment, experiment.Training, edit experiment.Training)

    /// Any optimizer of the IR, e.g. `AdamW(Lr = 3e-3, WeightDecay = 0.01)` or `Muon()`.
    let optimizer (optimizer: OptimizerSpec) = training (fun t -> Ir.With(t, t.Optimizer, optimizer))
    let schedule (schedule: ScheduleSpec) = training (fun t -> Ir.With(t, t.Schedule, schedule))
    let budget (budget: BudgetSpec) = training (fun t -> Ir.With(t, t.Budget, budget))
    /// Clip the global gradient norm to this value.
    let clip (maxNorm: float) = training (fun t -> Ir.With(t, t.ClipGradNorm, System.Nullable maxNorm))
    let noClip experiment = training (fun t -> Ir.With(t, t.ClipGradNorm, System.Nullable())) experiment
    let seed (seed: int) = training (fun t -> Ir.With(t, t.Seed, seed))
    /// "cpu", "cuda", "cuda:N" or "auto".
    let device (device: string) = training (fun t -> Ir.With(t, t.Device, device))
    let precision (precision: Precision) = training (fun t -> Ir.With(t, t.Precision, precision))
    let threads (count: int) = training (fun t -> Ir.With(t, t.Threads, System.Nullable count))

    /// Start from a trained model's weights (fresh optimizer; the experiment's own schedule and budget),
    /// e.g. `Experiment.initFrom (Source.run "runs/pretrain")`. With a task whose loss counts the
    /// responses this is supervised fine-tuning.
    let initFrom (source: ModelSource) (experiment: ExperimentSpec) = Ir.With(experiment, experiment.Init, source)
    /// Post-train with RL (GRPO-family, verifiable rewards) from the experiment's init instead of
    /// next-token training: the budget counts RL steps, the schedule scales each RL step's learning rate.
    let rl (spec: RlSpec) (experiment: ExperimentSpec) = Ir.With(experiment, experiment.Rl, spec)
    /// A vision-language model: this image encoder and projector before the experiment's decoder, on an
    /// image task (`Tasks.scenes ()`), e.g. `Experiment.vision (Vision.encoder (patchSize = 8, width = 32))`.
    let vision (encoder: ModelDsl.Core.Vision.VisionSpec) (experiment: ExperimentSpec) = Ir.With(experiment, experiment.Vision, encoder)
    /// Preference post-training of a vision-language model from the experiment's init (also the frozen
    /// reference), e.g. `Experiment.preference (Preference.svco (beta = 0.1))` or `(SvcoSpec(BetaLoserReject = 0.0))`.
    let preference (objective: ModelDsl.Core.Vision.PreferenceObjective) (experiment: ExperimentSpec) =
        Ir.With(experiment, experiment.Preference, objective)

    /// The validated spec, or every validation error with its path.
    let toSpec (experiment: ExperimentSpec) : Result<ExperimentSpec, ValidationError list> =
        match List.ofSeq (experiment.Validate()) with
        | [] -> Ok experiment
        | errors -> Error errors

    /// The validated spec; raises SpecValidationException listing every error.
    let toSpecOrFail (experiment: ExperimentSpec) = experiment.EnsureValid()

/// Referencing the DSL assembly opens its namespace, so experiment scripts need no `open`; the IR's
/// assembly opens its own namespaces likewise (ModelDsl.Core/FSharpScriptOpens.cs), so scripts write
/// its records directly, e.g. `AdamW(Lr = 3e-3)` or `Precision.BFloat16Mixed`.
[<assembly: AutoOpen("ModelDsl")>]
do ()
