/// `modeldsl run --run-dir`, `modeldsl resume` and SIGTERM, through the CLI's entry point and as a real child process.
module ModelDsl.Tests.CliRunTests

open System
open System.Diagnostics
open System.IO
open System.Text.Json.Nodes
open Expecto
open Spectre.Console
open ModelDsl.Core
open ModelDsl.Core.Json
open ModelDsl.Runtime.Runs
open ModelDsl.Tests.CliHarness

/// A one-layer width-16 model on sparse parity: milliseconds per step on one CPU thread.
let private spec (steps: int64) =
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
                Checkpoint = Training.CheckpointSpec(Every = 0, Keep = 2),
                Seed = 11,
                Threads = Nullable 1))

let private checkpointSteps (runDirectory: string) =
    CheckpointStore(Path.Combine(runDirectory, "checkpoints"), 2).List() |> Seq.map (fun (struct (step, _)) -> step) |> List.ofSeq

let private finalLosses (runDirectory: string) (steps: int64) =
    let header = Checkpoint.ReadHeader(CheckpointStore(Path.Combine(runDirectory, "checkpoints"), 2).PathFor steps)
    List.ofSeq header.TrainLosses

/// Starts the built CLI as a child process, waits until its run has logged `afterStep` steps past
/// `fromStep`, sends SIGTERM and returns the exit code and output.
let private terminateDuringRun (args: string list) (runDirectory: string) (afterStep: int64) =
    let start = ProcessStartInfo("dotnet", [ yield cliDll; yield! args ], RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false)
    use child = Process.Start start
    let stdout = child.StandardOutput.ReadToEndAsync()
    let stderr = child.StandardError.ReadToEndAsync()
    let deadline = DateTime.UtcNow.AddSeconds 120.0
    while not child.HasExited && lastTrainStep runDirectory < afterStep && DateTime.UtcNow < deadline do
        Threading.Thread.Sleep 10
    // (Reading the output before the child ends would wait for it: only on failure.)
    if child.HasExited then failtestf "the child ended before it could be stopped: %s%s" stdout.Result stderr.Result
    let stepAtKill = lastTrainStep runDirectory
    use kill = Process.Start("kill", [ "-TERM"; string child.Id ])
    kill.WaitForExit()
    Expect.equal kill.ExitCode 0 $"kill -TERM {child.Id} at step {stepAtKill}"
    if not (child.WaitForExit 60000) then
        child.Kill true
        failtest "the child did not exit within a minute of SIGTERM"
    child.ExitCode, $"(SIGTERM sent at step {stepAtKill}) " + stdout.Result + stderr.Result

[<Tests>]
let tests =
    Sequencing.training <| testList "cli run directories" [
        test "run --run-dir trains into the directory; a second run of the finished spec resumes to the same result" {
            withFolder <| fun folder ->
                let specPath = writeSpec folder (spec 5L)
                let runDir = Path.Combine(folder, "run")
                let code, output = cli [ "run"; specPath; "--run-dir"; runDir ]
                Expect.equal code 0 output
                Expect.equal (checkpointSteps runDir) [ 5L ] "final checkpoint"
                let again, output = cli [ "run"; specPath; "--run-dir"; runDir ]
                Expect.equal again 0 output
                Expect.equal (lastTrainStep runDir) 5L "no step trained twice"
        }

        test "user errors name the path and give no stack trace" {
            withFolder <| fun folder ->
                let specPath = writeSpec folder (spec 2L)
                let runDir = Path.Combine(folder, "run")
                Expect.equal (fst (cli [ "run"; specPath; "--run-dir"; runDir ])) 0 "first run"
                let other = writeSpec (Directory.CreateDirectory(Path.Combine(folder, "other")).FullName) (spec 3L)
                let code, output = cli [ "run"; other; "--run-dir"; runDir ]
                Expect.equal code 1 "a different spec into the same directory"
                Expect.stringContains output "holds a different experiment" "names the conflict"
                Expect.isFalse (output.Contains "   at ") "no stack trace"
                let missing = Path.Combine(folder, "nowhere")
                let code, output = cli [ "resume"; missing ]
                Expect.equal code 1 "resume of a missing directory"
                Expect.stringContains output "no such run directory" "message"
                let code, output = cli [ "resume"; Directory.CreateDirectory(Path.Combine(folder, "empty")).FullName ]
                Expect.equal code 1 "resume of a folder without spec.json"
                Expect.stringContains output "not a run directory" "message"
                use held = RunLock.Acquire runDir
                let code, output = cli [ "resume"; runDir ]
                Expect.equal code 1 "a held run directory"
                Expect.stringContains output $"in use by process {Environment.ProcessId}" "names the holder"
        }

        test "SIGTERM checkpoints the step reached; resume continues to the uninterrupted losses bit for bit (two kills)" {
            withFolder <| fun folder ->
                let steps = 150L
                let specPath = writeSpec folder (spec steps)
                let runDir = Path.Combine(folder, "killed")
                let code, output = terminateDuringRun [ "run"; specPath; "--run-dir"; runDir ] runDir 3L
                Expect.equal code 143 $"exit code after SIGTERM: {output}"
                Expect.stringContains output "SIGTERM" "says what stopped it"
                let unwrapped = Text.RegularExpressions.Regex.Replace(output, @"\s+", " ")
                Expect.stringContains unwrapped $"modeldsl resume {runDir}" "says how to continue"
                let first = lastTrainStep runDir
                Expect.equal (checkpointSteps runDir) [ first ] "a checkpoint at the step it stopped"
                Expect.isLessThan first steps "stopped before the end"
                Expect.isFalse (File.Exists(Path.Combine(runDir, RunLock.FileName))) "lock released"

                let code, output = terminateDuringRun [ "resume"; runDir ] runDir (first + 3L)
                Expect.equal code 143 $"second SIGTERM: {output}"
                let second = lastTrainStep runDir
                Expect.isGreaterThan second first "the resumed run went on"
                Expect.contains (checkpointSteps runDir) second "checkpoint at the second stop"

                let code, output = cli [ "resume"; runDir ]
                Expect.equal code 0 output
                let straightDir = Path.Combine(folder, "straight")
                let code, output = cli [ "run"; specPath; "--run-dir"; straightDir ]
                Expect.equal code 0 output
                let resumed = finalLosses runDir steps
                Expect.equal resumed.Length (int steps) "every step's loss"
                Expect.sequenceEqual resumed (finalLosses straightDir steps) "bit-identical losses"
        }
    ]
