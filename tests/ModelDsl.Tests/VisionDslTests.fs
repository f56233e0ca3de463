/// Vision-language experiments in the DSL and the CLI: Vision.encoder, Tasks.scenes, Experiment.vision
/// and Experiment.preference, the example script, and `modeldsl run` / `info` / `validate` on them.
module ModelDsl.Tests.VisionDslTests

open System.IO
open Expecto
open Spectre.Console
open ModelDsl
open ModelDsl.Core
open ModelDsl.Core.Json
open ModelDsl.Core.Vision
open ModelDsl.Cli

let private repositoryRoot =
    let rec up (directory: DirectoryInfo) =
        if isNull directory then failwith "no repository root above the test assembly"
        elif File.Exists(Path.Combine(directory.FullName, "modeldsl.fsx")) then directory.FullName
        else up directory.Parent
    up (DirectoryInfo System.AppContext.BaseDirectory)

/// A tiny captioning experiment: 32x32 scenes pooled to 4 prefix tokens, width-16 encoder and decoder.
let private tiny steps =
    Experiment.pretrain "vlm" (Model.llama (vocab = SceneTaskSpec.Vocabulary, width = 16, depth = 1, heads = 2) |> Model.maxSequenceLength 16)
    |> Experiment.vision (Vision.encoder (width = 16, heads = 2, hidden = 32) |> Vision.prefixTokens 4)
    |> Experiment.task (Tasks.scenes ())
    |> Experiment.budget (Budget.steps steps)
    |> Experiment.batch (globalBatch = 4)
    |> Experiment.eval (every = 0, batches = 1, problems = 5)
    |> Experiment.checkpoint (every = 0, keep = 1)
    |> Experiment.seed 3

let private paths (experiment: ExperimentSpec) =
    match Experiment.toSpec experiment with
    | Ok _ -> []
    | Error errors -> errors |> List.map _.Path

/// Runs the CLI's entry point with its console output captured; returns the exit code and the text.
let private cli (arguments: string list) =
    let writer = new StringWriter()
    let previous = AnsiConsole.Console
    let console =
        AnsiConsole.Create(AnsiConsoleSettings(Out = AnsiConsoleOutput(writer), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors,
                                               Interactive = InteractionSupport.No))
    console.Profile.Width <- 10000
    AnsiConsole.Console <- console
    let previousOut = System.Console.Out
    System.Console.SetOut writer
    try
        let code = ModelDsl.Cli.Program.main (Array.ofList arguments)
        code, writer.ToString()
    finally
        System.Console.SetOut previousOut
        AnsiConsole.Console <- previous

[<Tests>]
let tests =
    testSequenced <| testList "vision DSL" [
        test "Vision.encoder leaves the IR's defaults and the edits set one field each" {
            Expect.equal (Vision.encoder ()) (VisionSpec()) "defaults"
            let edited = Vision.encoder (patchSize = 4) |> Vision.freezeEncoder |> Vision.projector ProjectorKind.Linear
            Expect.equal edited (VisionSpec(PatchSize = 4, FreezeEncoder = true, Projector = ProjectorKind.Linear)) "edits"
        }

        test "Preference.svco sets every beta and a named beta overrides its term" {
            Expect.equal (Preference.svco (beta = 0.3, loserReject = 0.0))
                (SvcoSpec(BetaWinnerAttend = 0.3, BetaWinnerReject = 0.3, BetaLoserAttend = 0.3, BetaLoserReject = 0.0)) "svco"
            Expect.equal (Preference.textDpo ()) (TextDpoSpec()) "text DPO defaults"
            Expect.equal (Preference.imageDpo (beta = 0.5)) (ImageDpoSpec(Beta = 0.5)) "image DPO"
        }

        test "a vision experiment's errors name their paths" {
            Expect.equal (paths (tiny 2L)) [] "the tiny experiment validates"
            Expect.contains (paths (tiny 2L |> Experiment.vision (Vision.encoder (imageSize = 30)))) "vision.patchSize" "patch size"
            Expect.contains (paths (tiny 2L |> Experiment.task (Tasks.sparseParity (6, 2)))) "task" "an image task is needed"
            Expect.contains (paths (Experiment.pretrain "text" (Model.llama (vocab = 30, width = 16, depth = 1, heads = 2)) |> Experiment.task (Tasks.scenes ())))
                "vision" "the scenes task needs an encoder"
            Expect.contains (paths (tiny 2L |> Experiment.preference (Preference.svco ()))) "init" "preference needs init"
            Expect.contains (paths (tiny 2L |> Experiment.model (Model.maxSequenceLength 12))) "model.maxSequenceLength" "prefix and text must fit"
        }

        test "the vlm_captioning example loads under the host and lowers to its fixture" {
            match ExperimentSource.load (Path.Combine(repositoryRoot, "examples", "vlm_captioning.fsx")) with
            | Ok [ spec ] ->
                let fixture = Path.Combine(repositoryRoot, "tests", "ModelDsl.Tests", "fixtures", "lowering", "example-vlm-captioning.json")
                Expect.equal (SpecJson.Serialize spec) (File.ReadAllText fixture) "the script's experiment is the pinned one"
            | other -> failtestf "expected one experiment, got %A" other
        }

        test "modeldsl validate, info and run take a captioning spec and a preference spec from its run" {
            let folder = Directory.CreateTempSubdirectory("modeldsl-vision-").FullName
            try
                let sftFile = Path.Combine(folder, "sft.json")
                File.WriteAllText(sftFile, SpecJson.Serialize(tiny 3L))
                let code, text = cli [ "validate"; sftFile ]
                Expect.equal code 0 $"validate: {text}"
                let code, text = cli [ "info"; sftFile ]
                Expect.equal code 0 $"info: {text}"
                for row in [ "encoder.patches"; "encoder.blocks.0"; "projector"; "decoder.blocks.0.attention"; "image prefix tokens" ] do
                    Expect.stringContains text row "info lists the encoder, projector and decoder"
                let runs = Path.Combine(folder, "runs")
                let code, text = cli [ "run"; sftFile; "--runs-dir"; runs ]
                Expect.equal code 0 $"run: {text}"
                Expect.stringContains text "step 3/3" "supervised progress"
                let sftRun = Directory.GetDirectories runs |> Array.exactlyOne
                let preference =
                    tiny 2L |> Experiment.name "svco" |> Experiment.initFrom (Source.run sftRun) |> Experiment.preference (Preference.svco ())
                let preferenceFile = Path.Combine(folder, "svco.json")
                File.WriteAllText(preferenceFile, SpecJson.Serialize preference)
                let code, text = cli [ "info"; preferenceFile ]
                Expect.equal code 0 $"info: {text}"
                Expect.stringContains text "svco" "info names the objective"
                let code, text = cli [ "run"; preferenceFile; "--runs-dir"; Path.Combine(folder, "preference") ]
                Expect.equal code 0 $"run: {text}"
                Expect.stringContains text "step 2/2  preference loss" "preference progress"
                Expect.stringContains text "margins" "preference progress shows the margins"
            finally
                Directory.Delete(folder, true)
        }
    ]
