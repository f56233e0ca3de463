/// `modeldsl info FILE`: what an experiment builds and how long it trains, without training.
module ModelDsl.Cli.Info

open Spectre.Console
open ModelDsl.Core

let private count (n: int64) = n.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)

let describe (spec: ExperimentSpec) =
    // Computed from the IR: no module is built and no tensor allocated, so any valid size answers at once.
    let model = ModelDsl.Core.Model.ModelInventory.Of spec.Model
    let table = Table().Border(TableBorder.Rounded).AddColumn("layer").AddColumn("kind").AddColumn("shape").AddColumn(TableColumn("parameters").RightAligned())
    table.Title <- TableTitle(Display.escape spec.Name)
    for row in model.Layers do
        table.AddRow(Display.escape row.Name, Display.escape row.Kind, Display.escape row.Shape, count row.Parameters) |> ignore
    AnsiConsole.Write table
    let sequenceLength = spec.Task.SequenceLength()
    let tokensPerStep = int64 spec.Training.GlobalBatch * int64 sequenceLength
    let steps = spec.Training.Budget.Steps(tokensPerStep, model.NonEmbeddingParameterCount)
    let flops = model.TrainingFlopsPerToken sequenceLength
    let memory = ModelDsl.Core.Validation.MemoryEstimate.For spec
    let facts = Grid().AddColumn().AddColumn(GridColumn().RightAligned())
    let fact (name: string) (value: string) = facts.AddRow(name, value) |> ignore
    fact "parameters" (count model.ParameterCount)
    fact "non-embedding parameters" (count model.NonEmbeddingParameterCount)
    fact "training FLOPs per token" (flops.ToString("G4", System.Globalization.CultureInfo.InvariantCulture))
    fact "sequence length" (count (int64 sequenceLength))
    fact "tokens per step" (count tokensPerStep)
    fact "total steps" (count steps)
    fact "total tokens" (count (steps * tokensPerStep))
    fact "total training FLOPs" ((flops * float tokensPerStep * float steps).ToString("G4", System.Globalization.CultureInfo.InvariantCulture))
    fact "training memory (estimate)" (memory.Describe())
    AnsiConsole.Write facts

let execute (path: string) =
    match ExperimentSource.load path with
    | Error failure -> Display.loadFailure failure
    | Ok specs ->
        try
            for spec in specs do describe spec
            0
        with :? System.OverflowException ->
            Display.errorLine $"{path}: the model's parameter count does not fit in 64 bits; check model.width, the blocks' sizes and experts"
            1
