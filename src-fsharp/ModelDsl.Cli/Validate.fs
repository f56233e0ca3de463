/// `modeldsl validate FILE`.
module ModelDsl.Cli.Validate

open Spectre.Console

let execute (path: string) =
    match ExperimentSource.load path with
    | Error failure -> Display.loadFailure failure
    | Ok specs ->
        for spec in specs do AnsiConsole.MarkupLine($"[green]OK[/] {Display.escape spec.Name}")
        0
