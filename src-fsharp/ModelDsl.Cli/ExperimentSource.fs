/// Turns a file on the command line (.fsx experiment script or .json run spec) into validated IR.
module ModelDsl.Cli.ExperimentSource

open System
open System.Collections
open System.IO
open ModelDsl
open ModelDsl.Core
open ModelDsl.Core.Json
open ModelDsl.Core.Validation

type LoadFailure =
    /// The script does not compile or throws; located diagnostics.
    | ScriptFailed of ScriptHost.ScriptError list
    /// A JSON file that cannot be read, or a script binding of the wrong shape.
    | Unreadable of message: string
    /// Specs that were read but do not validate: (experiment name, errors).
    | Invalid of (string * ValidationError list) list

/// What a script bound: the DSL builds ExperimentSpec values directly.
let private specOf (binding: string) (value: obj) : Result<ExperimentSpec, string> =
    match value with
    | :? ExperimentSpec as spec -> Ok spec
    | null -> Error $"'{binding}' is null"
    | other -> Error $"'{binding}' is a {other.GetType().Name}; expected an ExperimentSpec"

/// What a file defines: experiments for the CLI to train, or a study (`study : StudyContext -> unit`)
/// that trains its own runs and writes its own report.
type Runnable =
    | Experiments of ExperimentSpec list
    | Study of (ModelDsl.Runtime.Studies.StudyContext -> unit)

let private experimentsOf (path: string) (session: ScriptHost.ScriptSession) : Result<ExperimentSpec list, LoadFailure> =
    match session.TryGet "experiment", session.TryGet "experiments" with
    | Some value, None ->
        specOf "experiment" value |> Result.map List.singleton |> Result.mapError Unreadable
    | None, Some (:? IEnumerable as values) when not (values :? string) ->
        let lowered = [ for value in values -> specOf "experiments" value ]
        match lowered |> List.choose (function Error e -> Some e | Ok _ -> None) with
        | [] -> Ok (lowered |> List.choose Result.toOption)
        | message :: _ -> Error (Unreadable message)
    | None, Some other -> Error (Unreadable $"'experiments' is a {other.GetType().Name}; expected a list of experiments")
    | Some _, Some _ -> Error (Unreadable $"{path} binds both 'experiment' and 'experiments'; bind one")
    | None, None -> Error (Unreadable $"{path} binds neither 'experiment', 'experiments' nor 'study'")

let private fromScript (path: string) : Result<Runnable, LoadFailure> =
    use session = new ScriptHost.ScriptSession()
    match session.Load path with
    | Error errors -> Error (ScriptFailed errors)
    | Ok () ->
        match session.TryGetFunction<ModelDsl.Runtime.Studies.StudyContext, unit> "study" with
        | Some _ when (session.TryGet "experiment").IsSome || (session.TryGet "experiments").IsSome ->
            Error (Unreadable $"{path} binds 'study' and 'experiment(s)'; bind one")
        | Some study -> Ok (Study study)
        | None -> experimentsOf path session |> Result.map Experiments

let private fromJson (path: string) =
    try Ok [ SpecJson.LoadExperiment path ]
    with :? SpecFormatException as e -> Error (Unreadable e.Message)

let private validated (path: string) (specs: ExperimentSpec list) =
    if List.isEmpty specs then Error (Unreadable $"{path} defines no experiments")
    else
        match specs |> List.choose (fun s -> match List.ofSeq (s.Validate()) with [] -> None | errors -> Some (s.Name, errors)) with
        | [] -> Ok specs
        | invalid -> Error (Invalid invalid)

/// Reads the file (by extension): the validated experiments it defines, or a script's study (unrun).
let loadRunnable (path: string) : Result<Runnable, LoadFailure> =
    match Path.GetExtension(path).ToLowerInvariant() with
    | _ when not (File.Exists path) -> Error (Unreadable $"{path}: no such file")
    | ".fsx" ->
        fromScript path
        |> Result.bind (function
            | Study study -> Ok (Study study)
            | Experiments specs -> validated path specs |> Result.map Experiments)
    | ".json" -> fromJson path |> Result.bind (validated path) |> Result.map Experiments
    | other -> Error (Unreadable $"{path}: expected an experiment script (.fsx) or a run spec (.json), not '{other}'")

/// Reads the file (by extension) and validates every experiment in it.
let load (path: string) : Result<ExperimentSpec list, LoadFailure> =
    loadRunnable path
    |> Result.bind (function
        | Experiments specs -> Ok specs
        | Study _ -> Error (Unreadable $"{path} is a study (it binds 'study'): it trains its own runs; use `modeldsl run`"))

/// Checks valid specs against this machine (device, files the spec names, memory estimate); the
/// problems are path-qualified like validation errors.
let preflight (options: ModelDsl.Runtime.Runs.PreflightOptions) (specs: ExperimentSpec list) : Result<ExperimentSpec list, LoadFailure> =
    match specs |> List.choose (fun s -> match List.ofSeq (ModelDsl.Runtime.Runs.Preflight.Check(s, options)) with [] -> None | e -> Some (s.Name, e)) with
    | [] -> Ok specs
    | failing -> Error (Invalid failing)
