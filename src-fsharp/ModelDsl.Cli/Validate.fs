/// `modeldsl validate FILE`.
module ModelDsl.Cli.Validate

open Spectre.Console

/// The spec's rules, then the machine's: device, files named by the spec, memory estimate (unless ignored).
let execute (path: string) (ignoreMemory: bool) =
    match ExperimentSource.load path |> Result.bind (ExperimentSource.preflight (ModelDsl.Runtime.Runs.PreflightOptions(IgnoreMemory = ignoreMemory))) with
    | Error failure -> Display.loadFailure failure
    | Ok specs ->
        for spec in specs do AnsiConsole.MarkupLine($"[green]OK[/] {Display.escape spec.Name}")
        0
