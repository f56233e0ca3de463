/// Console output with Spectre.Console: error tables and summaries.
module ModelDsl.Cli.Display

open Spectre.Console
open ModelDsl.Core.Validation

let escape (text: string) = Markup.Escape text

let errorLine (message: string) = AnsiConsole.MarkupLine($"[red]error:[/] {escape message}")

let scriptErrors (errors: ScriptHost.ScriptError list) =
    for e in errors do
        let location =
            match e.Line, e.Column with
            | 0, _ -> e.File
            | line, 0 -> $"{e.File}:{line}"
            | line, column -> $"{e.File}:{line}:{column}"
        AnsiConsole.MarkupLine($"[red]{escape location}:[/] {escape e.Message}")

let validationErrors (experiment: string) (errors: ValidationError list) =
    let table = Table().Border(TableBorder.Rounded).AddColumn("path").AddColumn("problem")
    table.Title <- TableTitle(escape $"{experiment}: {errors.Length} validation error(s)")
    for e in errors do table.AddRow(Markup($"[yellow]{escape e.Path}[/]"), Markup(escape e.Message)) |> ignore
    AnsiConsole.Write table

/// Prints a load failure and returns the exit code: 2 for validation errors, 1 otherwise.
let loadFailure (failure: ExperimentSource.LoadFailure) =
    match failure with
    | ExperimentSource.ScriptFailed errors -> scriptErrors errors; 1
    | ExperimentSource.Unreadable message -> errorLine message; 1
    | ExperimentSource.Invalid invalid ->
        for name, errors in invalid do validationErrors name errors
        2
