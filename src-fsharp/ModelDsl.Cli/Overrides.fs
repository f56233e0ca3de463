/// Command-line overrides applied to a lowered spec (the spec written to the run directory
/// records them, so a run is reproducible from its spec.json alone).
module ModelDsl.Cli.Overrides

open ModelDsl.Core
open ModelDsl.Core.Training

type Overrides = { Steps: int64 option; Device: string option; Threads: int option }

let none = { Steps = None; Device = None; Threads = None }

/// C#'s `with` on IR records: the compiler-generated clone, then the init-only setter.
let private copyWith<'Record> (property: string) (value: obj) (record: 'Record) : 'Record =
    let clone = typeof<'Record>.GetMethod("<Clone>$").Invoke(record, [||]) :?> 'Record
    typeof<'Record>.GetProperty(property).SetValue(clone, value)
    clone

let private editTraining (edit: TrainingSpec -> TrainingSpec) (spec: ExperimentSpec) =
    copyWith "Training" (edit spec.Training) spec

let apply (overrides: Overrides) (spec: ExperimentSpec) : ExperimentSpec =
    let set property value = editTraining (copyWith property (box value))
    spec
    |> (match overrides.Steps with Some n -> set "Budget" (StepBudget n :> BudgetSpec) | None -> id)
    |> (match overrides.Device with Some d -> set "Device" d | None -> id)
    |> (match overrides.Threads with Some t -> set "Threads" (System.Nullable t) | None -> id)
