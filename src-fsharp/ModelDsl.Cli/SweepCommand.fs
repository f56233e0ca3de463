/// `modeldsl sweep FILE [--backend local|slurm]`: runs or resumes a sweep, then writes and prints its report.
/// `modeldsl report SWEEP`: the report of a sweep folder (or a sweep name under the sweeps folder).
/// `modeldsl sweep-task DIR KEY` (hidden): what each Slurm array task runs, one point of a sweep.
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

/// The backend options of `modeldsl sweep` as given on the command line.
type BackendChoice =
    { Name: string
      Partition: string option
      Time: string option
      Cpus: int option
      Gpus: int option }

let localChoice = { Name = "local"; Partition = None; Time = None; Cpus = None; Gpus = None }

/// The command that starts this CLI again (for array tasks): the apphost, or `dotnet modeldsl.dll`.
let thisCommand () =
    let host = Environment.ProcessPath
    if Path.GetFileNameWithoutExtension(host) = "dotnet" then [ host; Reflection.Assembly.GetExecutingAssembly().Location ]
    else [ host ]

/// The Slurm backend, printing its progress lines.
let slurmBackend (choice: BackendChoice) (taskCommand: string list) (pollInterval: TimeSpan) : ISweepBackend =
    SlurmSweepBackend(
        SlurmOptions(
            TaskCommand = ResizeArray taskCommand,
            Partition = Option.toObj choice.Partition,
            Time = Option.toObj choice.Time,
            CpusPerTask = Option.toNullable choice.Cpus,
            Gpus = Option.toNullable choice.Gpus,
            PollInterval = pollInterval,
            OnMessage = Action<string>(fun line -> AnsiConsole.MarkupLine($"[grey]slurm:[/] {Display.escape line}"))))

/// The backend a command line asks for, or what is wrong with its options.
let backendOf (choice: BackendChoice) : Result<ISweepBackend, string> =
    let slurmOnly =
        [ if choice.Partition.IsSome then "--partition"
          if choice.Time.IsSome then "--time"
          if choice.Cpus.IsSome then "--cpus"
          if choice.Gpus.IsSome then "--gpus" ]
    match choice.Name.ToLowerInvariant() with
    | "local" when not slurmOnly.IsEmpty ->
        let names = String.Join(", ", slurmOnly)
        Error $"{names}: only for --backend slurm"
    | "local" -> Ok LocalSweepBackend.Instance
    | "slurm" ->
        let options = SlurmOptions(TaskCommand = ResizeArray(thisCommand ()), Partition = Option.toObj choice.Partition,
                                   Time = Option.toObj choice.Time, CpusPerTask = Option.toNullable choice.Cpus, Gpus = Option.toNullable choice.Gpus)
        match List.ofSeq (options.Problems()) with
        | [] -> Ok (slurmBackend choice (thisCommand ()) (TimeSpan.FromSeconds 5.0))
        | problems -> Error (String.Join("; ", problems))
    | other -> Error $"--backend '{other}': expected local or slurm"

/// Runs (or resumes) a validated sweep in <sweepsRoot>/<name> on a backend and reports on it.
/// Slurm tasks that ended without a result are listed and the exit code is 1; a rerun submits them again.
let runSweepOn (backend: ISweepBackend) (spec: SweepSpec) (sweepsRoot: string option) (threads: int option) (cancellation: CancellationToken) =
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
            OnRunEnd = Action<RunStoreEntry>(runEnd),
            Backend = backend)
    try
        let result = SweepRunner.Run(spec, options)
        report (SweepDirectory result.Directory)
    with
    | :? SlurmTasksLostException as e ->
        Display.errorLine $"{e.Message}\nrun the same command again to submit them anew (they resume from their checkpoints)"
        1
    | :? SlurmException as e ->
        Display.errorLine $"slurm: {e.Message}"
        1

/// Runs (or resumes) a validated sweep in this process.
let runSweep (spec: SweepSpec) (sweepsRoot: string option) (threads: int option) (cancellation: CancellationToken) =
    runSweepOn LocalSweepBackend.Instance spec sweepsRoot threads cancellation

let execute (path: string) (sweepsRoot: string option) (threads: int option) (choice: BackendChoice) =
    match backendOf choice, SweepSource.load path with
    | Error problem, _ -> Display.errorLine problem; 1
    | _, Error failure -> Display.loadFailure failure
    | Ok backend, Ok spec ->
        // SIGINT and SIGTERM stop the current run at its next step, checkpointed; the sweep resumes from there.
        // On Slurm they stop the waiting only: submitted jobs run on, and a rerun collects them.
        use signals = new Interruption.Signals()
        try runSweepOn backend spec sweepsRoot threads signals.Token
        with :? OperationCanceledException ->
            let rest =
                if backend :? SlurmSweepBackend then "the submitted Slurm jobs keep running; run the same command again to collect them and go on"
                else "run the same command again to resume it"
            Display.errorLine $"{signals.Name}: sweep stopped; {rest}"
            signals.ExitCode

/// One Slurm array task: trains the sweep point and records it in the sweep's run store. Exit code 0
/// when a result (finished or diverged) is recorded, 1 when the run failed (also recorded) or could not start.
let executeTask (sweepDirectory: string) (key: string) =
    use signals = new Interruption.Signals()
    let options =
        SweepOptions(
            Cancellation = signals.Token,
            OnRunStart = Action<SweepRunStart>(fun start ->
                let verb = if start.Resuming then "resuming" else "training"
                AnsiConsole.MarkupLine($"[bold]{Display.escape start.Arm}[/] {budget start.Ratio}: {verb} {Display.escape start.Values} in {Display.escape start.RunDirectory}")),
            OnRunEnd = Action<RunStoreEntry>(runEnd))
    try
        let run = SweepTask.Run(sweepDirectory, key, options)
        if run.Status = RunStoreStatus.Failed then 1 else 0
    with
    | :? OperationCanceledException ->
        Display.errorLine $"{signals.Name}: stopped at a checkpoint; the sweep submits this point again when rerun"
        signals.ExitCode
    | :? ModelDsl.Core.Json.SpecFormatException as e -> Display.errorLine e.Message; 1

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
