/// `modeldsl info FILE`: what an experiment builds and how long it trains, without training.
module ModelDsl.Cli.Info

open Spectre.Console
open ModelDsl.Core
open ModelDsl.Runtime.Compile

let private count (n: int64) = n.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)

let describe (spec: ExperimentSpec) =
    // Built on the CPU in fp32 only to count: no device memory, no training.
    use model = ModelCompiler.Build(spec.Model)
    let table = Table().Border(TableBorder.Rounded).AddColumn("layer").AddColumn("kind").AddColumn("shape").AddColumn(TableColumn("parameters").RightAligned())
    table.Title <- TableTitle(Display.escape spec.Name)
    for row in model.Describe() do
        table.AddRow(Display.escape row.Name, Display.escape row.Kind, Display.escape row.Shape, count row.Parameters) |> ignore
    AnsiConsole.Write table
    let sequenceLength = spec.Task.SequenceLength()
    let tokensPerStep = int64 spec.Training.GlobalBatch * int64 sequenceLength
    let steps = spec.Training.Budget.Steps(tokensPerStep, model.NonEmbeddingParameterCount)
    let flops = model.TrainingFlopsPerToken sequenceLength
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
    AnsiConsole.Write facts

let execute (path: string) =
    match ExperimentSource.load path with
    | Error failure -> Display.loadFailure failure
    | Ok specs ->
        for spec in specs do describe spec
        0
