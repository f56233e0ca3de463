/// Console output with Spectre.Console: error tables and summaries.
module ModelDsl.Cli.Display

open Spectre.Console
open ModelDsl.Core.Validation

let escape (text: string) = Markup.Escape text

let errorLine (message: string) = AnsiConsole.MarkupLine($"[red]error:[/] {escape message}")

/// Set by --debug: errors also print their exception type and stack trace.
let mutable debug = false

/// Exit code of an internal error (a bug, not a problem with the input): sysexits' EX_SOFTWARE.
let internalErrorCode = 70

/// Exceptions that report a problem with the user's input, files or machine, each with a message that
/// names the file, directory or field: printed as one line (exit code 1), never as a stack trace.
let isUserError (e: exn) =
    match e with
    | :? ModelDsl.Core.Json.SpecFormatException
    | :? SpecValidationException
    | :? ModelDsl.Runtime.Runs.RunLockedException
    | :? ModelDsl.Runtime.Runs.CheckpointException
    | :? ModelDsl.Runtime.FineTune.ModelSourceException
    | :? System.IO.IOException
    | :? System.IO.InvalidDataException
    | :? System.UnauthorizedAccessException
    | :? System.NotSupportedException
    | :? System.InvalidOperationException
    | :? System.OutOfMemoryException -> true
    // A damaged run index (e.g. index.sqlite that is not a database); matched by name to keep SQLite out of the CLI's references.
    | _ when e.GetType().FullName = "Microsoft.Data.Sqlite.SqliteException" -> true
    // libtorch's allocation failures arrive as a generic native error.
    | _ when e.Message.Contains("can't allocate memory", System.StringComparison.Ordinal)
             || e.Message.Contains("out of memory", System.StringComparison.OrdinalIgnoreCase) -> true
    | _ -> false

let private unwrap (e: exn) =
    match e with
    | :? System.Reflection.TargetInvocationException as t when not (isNull t.InnerException) -> t.InnerException
    | :? System.TypeInitializationException as t when not (isNull t.InnerException) -> t.InnerException
    | _ -> e

/// Prints an exception as one error line (with --debug: its type and stack trace too) and returns the
/// exit code: 1 for a user error, <see cref="internalErrorCode"/> for anything else.
let exceptionLine (e: exn) =
    let e = unwrap e
    let user = isUserError e
    let message =
        if user then e.Message
        elif debug then $"internal error: {e.Message}"
        else $"internal error: {e.Message} (rerun with --debug for details)"
    errorLine message
    if debug then System.Console.Error.WriteLine(e.ToString())
    if user then 1 else internalErrorCode

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
