/// `modeldsl sweep FILE`: runs or resumes a sweep, then writes and prints its report.
/// `modeldsl report SWEEP`: the report of a sweep folder (or a sweep name under the sweeps folder).
module ModelDsl.Cli.SweepCommand

open System
open System.IO
open System.Threading
open Spectre.Console
open ModelDsl.Core.Sweeps
open ModelDsl.Runtime.Runs
open ModelDsl.Runtime.Sweeps

let private number (x: float) = x.ToString("G5", Globalization.CultureInfo.InvariantCulture)

let private budget (ratio: Nullable<float>) = if ratio.HasValue then $"{number ratio.Value}x" else "base budget"

let private runEnd (run: RunStoreEntry) =
    let outcome =
        match run.Status with
        | RunStoreStatus.Finished -> $"validation loss [green]{number run.ValidationLoss.Value}[/]"
        | RunStoreStatus.Diverged -> "[yellow]diverged[/]"
        | _ -> $"[red]failed[/]: {Display.escape (string run.Error)}"
    let seconds = if run.WallSeconds.HasValue then $" in {run.WallSeconds.Value:F1} s" else ""
    AnsiConsole.MarkupLine($"    {outcome}{seconds}")

/// Writes report.md and the plots, prints the table, returns the exit code.
let private report (directory: SweepDirectory) =
    let data = SweepReport.Write directory
    AnsiConsole.WriteLine()
    Console.WriteLine(File.ReadAllText directory.ReportPath)
    AnsiConsole.MarkupLine($"report: [link]{Display.escape directory.ReportPath}[/]")
    if data.Cells |> Seq.exists (fun c -> not c.SearchComplete) then
        AnsiConsole.MarkupLine("[yellow]some searches are unfinished; run the sweep again to resume them[/]")
    0

/// Runs (or resumes) a validated sweep in <sweepsRoot>/<name> and reports on it.
let runSweep (spec: SweepSpec) (sweepsRoot: string option) (threads: int option) (cancellation: CancellationToken) =
    let spec =
        match threads with
        | None -> spec
        | Some count ->
            // Threads do not change results (run store keys leave them out), so a resume may use others.
            let overrides = { Overrides.none with Threads = Some count }
            let withThreads (arm: SweepArm) =
                SweepArm(Label = arm.Label, Base = Overrides.apply overrides arm.Base, Axes = arm.Axes, Search = arm.Search)
            SweepSpec(
                Name = spec.Name, Arms = ModelDsl.Core.ValueList<SweepArm>(Seq.map withThreads spec.Arms), Ratios = spec.Ratios,
                DivergenceLoss = spec.DivergenceLoss, Baseline = spec.Baseline)
    let options =
        SweepOptions(
            SweepsRoot = defaultArg sweepsRoot (Path.Combine("runs", "sweeps")),
            Cancellation = cancellation,
            OnRunStart = Action<SweepRunStart>(fun start ->
                let verb = if start.Resuming then "resuming" else "training"
                AnsiConsole.MarkupLine(
                    $"[bold]{Display.escape start.Arm}[/] {budget start.Ratio}: {verb} {Display.escape start.Values}")),
            OnRunEnd = Action<RunStoreEntry>(runEnd))
    let result = SweepRunner.Run(spec, options)
    report (SweepDirectory result.Directory)

let execute (path: string) (sweepsRoot: string option) (threads: int option) =
    match SweepSource.load path with
    | Error failure -> Display.loadFailure failure
    | Ok spec ->
        // SIGINT and SIGTERM stop the current run at its next step, checkpointed; the sweep resumes from there.
        use signals = new Interruption.Signals()
        try runSweep spec sweepsRoot threads signals.Token
        with :? OperationCanceledException ->
            Display.errorLine $"{signals.Name}: sweep stopped; run the same command again to resume it"
            signals.ExitCode

/// A sweep folder, or the name of a sweep under the sweeps root.
let executeReport (sweep: string) (sweepsRoot: string option) =
    let root = defaultArg sweepsRoot (Path.Combine("runs", "sweeps"))
    let candidates = [ sweep; Path.Combine(root, sweep) ]
    match candidates |> List.tryFind (fun p -> File.Exists(Path.Combine(p, "sweep.json"))) with
    | None ->
        Display.errorLine $"'{sweep}' is neither a sweep folder (with sweep.json) nor a sweep under {root}"
        1
    | Some folder ->
        try report (SweepDirectory folder)
        with
        | :? FileNotFoundException as e -> Display.errorLine e.Message; 1
        | :? ModelDsl.Core.Json.SpecFormatException as e -> Display.errorLine e.Message; 1
