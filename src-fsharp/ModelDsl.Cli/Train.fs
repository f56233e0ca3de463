/// `modeldsl run FILE`: trains each experiment with live progress, then prints a summary.
module ModelDsl.Cli.Train

open System
open System.Threading
open Spectre.Console
open ModelDsl.Core
open ModelDsl.Runtime.Training

let private number (x: float) = x.ToString("G4", Globalization.CultureInfo.InvariantCulture)
let private duration (t: TimeSpan) = if t.TotalHours >= 1.0 then t.ToString(@"h\:mm\:ss") else t.ToString(@"m\:ss")

let private progressText (p: TrainProgress) =
    $"step {p.Step}/{p.TotalSteps}  loss {number p.Loss}  lr {number p.LearningRate}  {p.TokensPerSecond:N0} tok/s  ETA {duration p.Eta}"

/// An RL step reports the sampled completions' mean reward and accuracy; its loss is no progress signal.
let private rlProgressText (p: ModelDsl.Runtime.Rl.RlProgress) =
    $"step {p.Step}/{p.TotalSteps}  reward {number p.MeanReward}  accuracy {p.Accuracy:P1}  lr {number p.LearningRate}  ETA {duration p.Eta}"

/// A preference step reports its objective and the mean margins (before beta) it pushes up.
let private preferenceProgressText (p: ModelDsl.Runtime.Vision.PreferenceProgress) =
    let margins = p.MeanMargins |> Seq.map (fun m -> m.ToString("+0.000;-0.000", Globalization.CultureInfo.InvariantCulture)) |> String.concat " "
    $"step {p.Step}/{p.TotalSteps}  preference loss {number p.Loss}  margins {margins}  lr {number p.LearningRate}  ETA {duration p.Eta}"

let private evalText (e: EvalResult) =
    let accuracy = if e.Accuracy.HasValue then $"  accuracy {e.Accuracy.Value:P1}" else ""
    $"[blue]eval[/] step {e.Step}  validation loss {number e.ValidationLoss}{accuracy}"

/// Where a run trains: a new timestamped directory under RunsRoot, or an explicit RunDirectory (resumed
/// when it holds checkpoints of the same spec); FromScratch trains anew over checkpoints none of which can be resumed;
/// TensorBoard mirrors the metrics to event files in the run's tensorboard/ folder.
type RunTarget =
    { RunsRoot: string option; RunDirectory: string option; FromScratch: bool; TensorBoard: bool }
    static member Under(runsRoot: string option) = { RunsRoot = runsRoot; RunDirectory = None; FromScratch = false; TensorBoard = false }

/// Exit code of `run` and `resume` when the divergence policy stopped a run (see the README).
let divergedExitCode = 3

let private warningLine (message: string) = AnsiConsole.MarkupLine($"[yellow]warning:[/] {Display.escape message}")

/// Trains one validated spec into its target. An interactive console gets a single updating progress
/// bar; a redirected one gets a plain line about every tenth of the run.
let trainWithProgressIn (target: RunTarget) (cancellation: CancellationToken) (spec: ExperimentSpec) : TrainResult =
    AnsiConsole.MarkupLine($"[bold]{Display.escape spec.Name}[/]")
    // onProgress (step, total steps, line) serves pre-training and RL steps alike.
    let options (onProgress: int64 -> int64 -> string -> unit) =
        TrainOptions(
            RunsRoot = defaultArg target.RunsRoot "runs",
            RunDirectory = Option.toObj target.RunDirectory,
            StartOverUnusableCheckpoints = target.FromScratch,
            TensorBoard = target.TensorBoard,
            OnWarning = Action<string>(warningLine),
            OnProgress = Action<TrainProgress>(fun p -> onProgress p.Step p.TotalSteps (progressText p)),
            OnRlProgress = Action<ModelDsl.Runtime.Rl.RlProgress>(fun p -> onProgress p.Step p.TotalSteps (rlProgressText p)),
            OnPreferenceProgress = Action<ModelDsl.Runtime.Vision.PreferenceProgress>(fun p -> onProgress p.Step p.TotalSteps (preferenceProgressText p)),
            OnEval = Action<EvalResult>(fun e -> AnsiConsole.MarkupLine(evalText e)),
            Cancellation = cancellation)
    if AnsiConsole.Profile.Capabilities.Interactive then
        AnsiConsole
            .Progress()
            .AutoClear(false)
            .Columns(TaskDescriptionColumn(Alignment = Justify.Left), ProgressBarColumn(), PercentageColumn(), ElapsedTimeColumn())
            .Start(fun context ->
                let task = context.AddTask("starting", maxValue = 1.0)
                let result =
                    Trainer.Run(spec, options (fun step total text ->
                        task.MaxValue <- float total
                        task.Value <- float step
                        task.Description <- Display.escape text))
                task.Value <- task.MaxValue
                result)
    else
        let mutable lastPrinted = 0L
        Trainer.Run(spec, options (fun step total text ->
            if step = 1L || step = total || step - lastPrinted >= max 1L (total / 10L) then
                lastPrinted <- step
                Console.WriteLine(text)))

/// Trains one validated spec under a runs folder (a new run directory).
let trainWithProgress (runsRoot: string option) (cancellation: CancellationToken) (spec: ExperimentSpec) : TrainResult =
    trainWithProgressIn (RunTarget.Under runsRoot) cancellation spec

let private summary (results: (ExperimentSpec * TrainResult) list) =
    let table =
        Table().Border(TableBorder.Rounded)
            .AddColumn("experiment").AddColumn(TableColumn("steps").RightAligned()).AddColumn(TableColumn("train loss").RightAligned())
            .AddColumn(TableColumn("validation loss").RightAligned()).AddColumn(TableColumn("accuracy").RightAligned())
            .AddColumn(TableColumn("tokens/s").RightAligned()).AddColumn(TableColumn("time").RightAligned())
    for spec, r in results do
        let accuracy = if r.FinalEval.Accuracy.HasValue then $"{r.FinalEval.Accuracy.Value:P1}" else "-"
        table.AddRow(
            Display.escape spec.Name, string r.Steps, (if Double.IsNaN r.FinalTrainLoss then "-" else number r.FinalTrainLoss), number r.FinalEval.ValidationLoss,
            accuracy, r.TokensPerSecond.ToString("N0"), duration r.Elapsed) |> ignore
    AnsiConsole.Write table

/// Trains already loaded specs into a target: overrides, re-validation (an override can break a rule),
/// training. Exit codes: 0 done, 1 an error (named), 2 invalid spec, 3 diverged, 130/143 stopped by SIGINT/SIGTERM
/// after a checkpoint.
/// With a preflight, the specs are also checked against this machine (device, files, memory) before
/// any run directory is made; a resume passes none (its run was accepted when it started).
let trainSpecsChecked (preflight: ModelDsl.Runtime.Runs.PreflightOptions option) (target: RunTarget) (specs: ExperimentSpec list) (overrides: Overrides.Overrides) =
    let specs = specs |> List.map (Overrides.apply overrides)
    let checkedAgainstMachine =
        match preflight with
        | None -> Ok specs
        | Some options -> ExperimentSource.preflight options specs
    match specs |> List.choose (fun s -> match List.ofSeq (s.Validate()) with [] -> None | e -> Some (s.Name, e)) with
    | _ :: _ as invalid -> Display.loadFailure (ExperimentSource.Invalid invalid)
    | [] when Result.isError checkedAgainstMachine ->
        match checkedAgainstMachine with
        | Error failure -> Display.loadFailure failure
        | Ok _ -> 0
    | [] when target.RunDirectory.IsSome && specs.Length > 1 ->
        let names = specs |> List.map _.Name |> String.concat ", "
        Display.errorLine $"--run-dir takes one experiment, but {specs.Length} were given ({names})"
        1
    | [] ->
        // SIGINT (Ctrl+C) and SIGTERM stop training cleanly (the trainer checks the token and checkpoints) instead of killing the process.
        use signals = new Interruption.Signals()
        try
            let results = [ for spec in specs -> spec, trainWithProgressIn target signals.Token spec ]
            summary results
            for spec, r in results do AnsiConsole.MarkupLine($"{Display.escape spec.Name}: run directory [link]{Display.escape r.RunDirectory}[/]")
            let diverged = results |> List.choose (fun (spec, r) -> r.Divergence |> Option.ofObj |> Option.map (fun d -> spec, r, d))
            for spec, r, d in diverged do
                Display.errorLine $"{spec.Name}: {d.Message}; the last good checkpoint is in {r.RunDirectory}"
            if diverged.IsEmpty then 0 else divergedExitCode
        with
        | :? TrainingInterruptedException as e ->
            Display.errorLine $"{signals.Name}: {e.Message}; continue with: modeldsl resume {e.RunDirectory}"
            signals.ExitCode
        | :? OperationCanceledException ->
            Display.errorLine "training cancelled"
            signals.ExitCode
        | e when Display.isUserError e -> Display.exceptionLine e

/// Trains already loaded specs into a target after the machine checks (device, files, memory).
let trainSpecsIn (target: RunTarget) (specs: ExperimentSpec list) (overrides: Overrides.Overrides) =
    trainSpecsChecked (Some (ModelDsl.Runtime.Runs.PreflightOptions())) target specs overrides

/// Trains already loaded specs into new run directories under runsRoot.
let trainSpecs (specs: ExperimentSpec list) (runsRoot: string option) (overrides: Overrides.Overrides) =
    trainSpecsIn (RunTarget.Under runsRoot) specs overrides

/// Runs a study script's `study` function; it trains and reports by itself.
let private runStudy (study: ModelDsl.Runtime.Studies.StudyContext -> unit) (runsRoot: string option) (quick: bool) (threads: int option) =
    try
        study (ModelDsl.Runtime.Studies.StudyContext(defaultArg runsRoot "runs", quick, Option.toNullable threads))
        0
    with e ->
        let e = match e with :? Reflection.TargetInvocationException as t when not (isNull t.InnerException) -> t.InnerException | e -> e
        Display.errorLine $"study failed: {e.GetType().Name}: {e.Message}"
        1

/// `quick` asks a study for its test-sized variant; experiments ignore it.
let executeChecked (preflight: ModelDsl.Runtime.Runs.PreflightOptions option) (target: RunTarget) (path: string) (overrides: Overrides.Overrides) (quick: bool) =
    match ExperimentSource.loadRunnable path with
    | Error failure -> Display.loadFailure failure
    | Ok (ExperimentSource.Study _) when target.RunDirectory.IsSome ->
        Display.errorLine $"{path}: --run-dir applies to experiments; a study chooses its own run directories"
        1
    | Ok (ExperimentSource.Study study) -> runStudy study target.RunsRoot quick overrides.Threads
    | Ok (ExperimentSource.Experiments specs) -> trainSpecsChecked preflight target specs overrides

let executeIn (target: RunTarget) (path: string) (overrides: Overrides.Overrides) (quick: bool) =
    executeChecked (Some (ModelDsl.Runtime.Runs.PreflightOptions())) target path overrides quick

let execute (path: string) (runsRoot: string option) (overrides: Overrides.Overrides) (quick: bool) =
    executeIn (RunTarget.Under runsRoot) path overrides quick
