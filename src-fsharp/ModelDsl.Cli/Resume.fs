/// `modeldsl resume RUN_DIR`: continues a run from its newest usable checkpoint, with the spec the
/// run directory recorded (spec.json, overrides included).
module ModelDsl.Cli.Resume

open System.IO
open ModelDsl.Core.Json

let execute (runDirectory: string) (fromScratch: bool) (tensorBoard: bool) =
    let specPath = Path.Combine(runDirectory, "spec.json")
    if not (Directory.Exists runDirectory) then
        Display.errorLine $"{runDirectory}: no such run directory"
        1
    elif not (File.Exists specPath) then
        Display.errorLine $"{specPath}: missing, so '{runDirectory}' is not a run directory (modeldsl run writes spec.json into every run)"
        1
    else
        match (try Ok (SpecJson.LoadExperiment specPath) with :? SpecFormatException as e -> Error e.Message) with
        | Error message ->
            Display.errorLine message
            1
        | Ok spec ->
            let target: Train.RunTarget = { RunsRoot = None; RunDirectory = Some runDirectory; FromScratch = fromScratch; TensorBoard = tensorBoard }
            Train.trainSpecsChecked None target [ spec ] Overrides.none
