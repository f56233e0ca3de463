/// Turns a file on the command line (.fsx script binding `sweep`, or a .json SweepSpec) into a validated sweep.
module ModelDsl.Cli.SweepSource

open System.IO
open ModelDsl
open ModelDsl.Core.Json
open ModelDsl.Core.Sweeps

let private lowerValue (value: obj) : Result<SweepSpec, ExperimentSource.LoadFailure> =
    match value with
    | :? Sweep as sweep -> Ok (Sweep.lower sweep)
    | :? SweepSpec as spec -> Ok spec
    | null -> Error (ExperimentSource.Unreadable "'sweep' is null")
    | other -> Error (ExperimentSource.Unreadable $"'sweep' is a {other.GetType().Name}; expected a Sweep (DSL) or a SweepSpec")

let private fromScript (path: string) =
    use session = new ScriptHost.ScriptSession()
    match session.Load path with
    | Error errors -> Error (ExperimentSource.ScriptFailed errors)
    | Ok () ->
        match session.TryGet "sweep" with
        | Some value -> lowerValue value
        | None -> Error (ExperimentSource.Unreadable $"{path} binds no 'sweep'")

let private fromJson (path: string) =
    try Ok (SpecJson.Deserialize<SweepSpec>(File.ReadAllText path, path))
    with :? SpecFormatException as e -> Error (ExperimentSource.Unreadable e.Message)

/// Reads the file (by extension) and validates the sweep.
let load (path: string) : Result<SweepSpec, ExperimentSource.LoadFailure> =
    let read =
        match Path.GetExtension(path).ToLowerInvariant() with
        | _ when not (File.Exists path) -> Error (ExperimentSource.Unreadable $"{path}: no such file")
        | ".fsx" -> fromScript path
        | ".json" -> fromJson path
        | other -> Error (ExperimentSource.Unreadable $"{path}: expected a sweep script (.fsx) or a sweep spec (.json), not '{other}'")
    read
    |> Result.bind (fun spec ->
        match List.ofSeq (spec.Validate()) with
        | [] -> Ok spec
        | errors -> Error (ExperimentSource.Invalid [ spec.Name, errors ]))
