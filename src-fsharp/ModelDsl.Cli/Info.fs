/// `modeldsl info FILE`: what an experiment builds and how long it trains, without training.
module ModelDsl.Cli.Info

open Spectre.Console
open ModelDsl.Core

let private count (n: int64) = n.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)

/// A vision experiment: the encoder's and projector's layers before the decoder's, and the image prefix.
let private describeVision (spec: ExperimentSpec) =
    use model =
        ModelDsl.Runtime.Vision.VisionModelCompiler.Build(ModelDsl.Core.Vision.VisionLanguageSpec(Vision = spec.Vision, Decoder = spec.Model))
    let table = Table().Border(TableBorder.Rounded).AddColumn("layer").AddColumn("kind").AddColumn("shape").AddColumn(TableColumn("parameters").RightAligned())
    table.Title <- TableTitle(Display.escape spec.Name)
    for row in ModelDsl.Runtime.Vision.VisionModelDescription.Describe model do
        table.AddRow(Display.escape row.Name, Display.escape row.Kind, Display.escape row.Shape, count row.Parameters) |> ignore
    AnsiConsole.Write table
    let sequenceLength = spec.Task.SequenceLength()
    let tokensPerStep = int64 spec.Training.GlobalBatch * int64 sequenceLength
    let nonEmbedding = ModelDsl.Runtime.Vision.VisionRun.NonEmbeddingParameterCount model
    let steps = spec.Training.Budget.Steps(tokensPerStep, nonEmbedding)
    let facts = Grid().AddColumn().AddColumn(GridColumn().RightAligned())
    let fact (name: string) (value: string) = facts.AddRow(name, value) |> ignore
    fact "parameters" (count (model.parameters () |> Seq.sumBy (fun p -> p.numel ())))
    fact "trainable parameters" (count (model.NamedParameters() |> Seq.sumBy (fun p -> p.Parameter.numel ())))
    fact "non-embedding parameters" (count nonEmbedding)
    fact "image prefix tokens" (count (int64 model.PrefixTokens))
    fact "text sequence length" (count (int64 sequenceLength))
    fact "objective" (if isNull spec.Preference then "supervised (response tokens)" else ModelDsl.Core.Variants.VariantRegistry.KindOf spec.Preference)
    fact (if isNull spec.Preference then "texts per step" else "contrast pairs per step") (count (int64 spec.Training.GlobalBatch))
    fact "total steps" (count steps)
    AnsiConsole.Write facts

let private describeLanguageModel (spec: ExperimentSpec) =
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

/// A vision experiment builds its (small) encoder to describe it; a language model is described from the IR alone.
let describe (spec: ExperimentSpec) =
    if isNull spec.Vision then describeLanguageModel spec else describeVision spec

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
