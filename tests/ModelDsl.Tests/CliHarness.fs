/// What the CLI error, I/O-failure and kill tests share: the CLI's entry point run in-process with
/// its output captured, the built executable as a child process, and a tiny experiment.
module ModelDsl.Tests.CliHarness

open System
open System.Diagnostics
open System.IO
open System.Text.RegularExpressions
open Spectre.Console
open ModelDsl.Core
open ModelDsl.Core.Json
open ModelDsl.Runtime.Runs

let repositoryRoot =
    let rec up (directory: DirectoryInfo) =
        if isNull directory then failwith "no repository root above the test assembly"
        elif File.Exists(Path.Combine(directory.FullName, "modeldsl.fsx")) then directory.FullName
        else up directory.Parent
    up (DirectoryInfo AppContext.BaseDirectory)

let cliDll = Path.Combine(repositoryRoot, "src-fsharp", "ModelDsl.Cli", "bin", "Release", "net10.0", "modeldsl.dll")

/// A one-layer width-16 model on flip-flop: milliseconds per step on one CPU thread.
let tinySpec (steps: int64) (checkpointEvery: int) =
    ExperimentSpec(
        Name = "cli-tiny",
        Model = Model.ModelSpec.Llama(Tasks.FlipFlop.Vocabulary, 16, 1, 2),
        Task = Tasks.FlipFlop(),
        Training =
            Training.TrainingSpec(
                Optimizer = Training.AdamW(Lr = 1e-2),
                Budget = Training.StepBudget(steps),
                GlobalBatch = 4,
                MicroBatch = 4,
                Eval = Training.EvalSpec(Every = 0, Batches = 1, Problems = 0),
                Checkpoint = Training.CheckpointSpec(Every = checkpointEvery, Keep = 2),
                Seed = 11,
                Threads = Nullable 1))

let withFolder (body: string -> unit) =
    let folder = Directory.CreateTempSubdirectory("modeldsl-cli-").FullName
    try body folder finally Directory.Delete(folder, true)

let writeJson (path: string) (text: string) =
    Directory.CreateDirectory(Path.GetDirectoryName path) |> ignore
    File.WriteAllText(path, text)
    path

let writeSpec folder (s: ExperimentSpec) = writeJson (Path.Combine(folder, "spec.json")) (SpecJson.Serialize s)

/// Runs the CLI's entry point in-process on a wide console (paths are not wrapped) and returns its exit
/// code and everything it printed (standard output and error); an exception escaping it fails the test.
let cli (args: string list) =
    let output = new StringWriter()
    let previous = AnsiConsole.Console
    let console = AnsiConsole.Create(AnsiConsoleSettings(Out = AnsiConsoleOutput(output), Ansi = AnsiSupport.No))
    console.Profile.Width <- 4000
    AnsiConsole.Console <- console
    let previousError = Console.Error
    let errors = new StringWriter()
    Console.SetError errors
    try
        let code = ModelDsl.Cli.Program.main (Array.ofList args)
        code, output.ToString() + errors.ToString()
    finally
        AnsiConsole.Console <- previous
        Console.SetError previousError

/// A stack trace or a .NET exception's type name in CLI output.
let hasTrace (output: string) = output.Contains "   at " || output.Contains "System." || Regex.IsMatch(output, @"\w+Exception\b")

/// The last step with a "train" event in the run's metrics.jsonl (0 when none yet); the file may be growing.
let lastTrainStep (runDirectory: string) =
    let path = Path.Combine(runDirectory, "metrics.jsonl")
    if not (File.Exists path) then 0L
    else
        use stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite ||| FileShare.Delete)
        use reader = new StreamReader(stream)
        Regex.Matches(reader.ReadToEnd(), "\"event\":\"train\",\"step\":(\\d+)")
        |> Seq.map (fun m -> int64 m.Groups[1].Value)
        |> Seq.fold max 0L

/// Every step's training loss, from the checkpoint of the final step.
let finalLosses (runDirectory: string) (steps: int64) =
    let header = Checkpoint.ReadHeader(CheckpointStore(Path.Combine(runDirectory, "checkpoints"), 2).PathFor steps)
    List.ofSeq header.TrainLosses

/// Starts the built CLI as a child process (output collected asynchronously).
let startChild (args: string list) =
    let start = ProcessStartInfo("dotnet", [ yield cliDll; yield! args ], RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false)
    let child = Process.Start start
    let stdout = child.StandardOutput.ReadToEndAsync()
    let stderr = child.StandardError.ReadToEndAsync()
    child, stdout, stderr
