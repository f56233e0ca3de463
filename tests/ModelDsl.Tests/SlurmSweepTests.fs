/// `modeldsl sweep --backend slurm` on a real one-node Slurm cluster (scripts/slurm-local.sh): a grid
/// sweep's results equal the local backend's, and a cancelled array task is reported, then completed
/// by running the sweep again. Without Slurm on the machine these tests fail and say why.
module ModelDsl.Tests.SlurmSweepTests

open System
open System.Diagnostics
open System.IO
open System.Threading
open Expecto
open Spectre.Console
open ModelDsl
open ModelDsl.Core
open ModelDsl.Core.Sweeps
open ModelDsl.Cli
open ModelDsl.Runtime.Runs
open ModelDsl.Runtime.Sweeps

let private repositoryRoot =
    let rec up (directory: DirectoryInfo) =
        if isNull directory then failwith "no repository root above the test assembly"
        elif File.Exists(Path.Combine(directory.FullName, "modeldsl.fsx")) then directory.FullName
        else up directory.Parent
    up (DirectoryInfo AppContext.BaseDirectory)

let private clusterScript = Path.Combine(repositoryRoot, "scripts", "slurm-local.sh")
let private cliDll = Path.Combine(repositoryRoot, "src-fsharp", "ModelDsl.Cli", "bin", "Release", "net10.0", "modeldsl.dll")

/// Runs a program to its end; returns the exit code and stdout + stderr.
let private shell (program: string) (args: string list) =
    let info = ProcessStartInfo(program, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false)
    for a in args do info.ArgumentList.Add a
    use p = Process.Start info
    let out = p.StandardOutput.ReadToEndAsync()
    let err = p.StandardError.ReadToEnd()
    p.WaitForExit()
    p.ExitCode, out.Result + err

/// Starts the local cluster when it is not up, points Slurm's commands at it, runs the body, and
/// stops the cluster again if this test started it.
let private withCluster (body: unit -> unit) =
    let code, output =
        try shell "bash" [ clusterScript; "start" ]
        with e -> 1, e.Message
    if code <> 0 then
        failtestf "Slurm is not available here, so the Slurm sweep backend cannot be tested:\n%s\nInstall slurm-wlm and munge (scripts/ensure-slurm.sh does it on Debian as root) and run the tests again." (output.Trim())
    let _, exportLine = shell "bash" [ clusterScript; "env" ]
    Environment.SetEnvironmentVariable("SLURM_CONF", exportLine.Trim().Substring("export SLURM_CONF=".Length))
    try body ()
    finally
        if output.Contains "started" then shell "bash" [ clusterScript; "stop" ] |> ignore

let private withFolder (body: string -> unit) =
    let folder = Directory.CreateTempSubdirectory("modeldsl-slurm-").FullName
    try body folder finally Directory.Delete(folder, true)

/// Runs a command function with the console captured (wide, so that no line wraps); returns its exit code and output.
let private captured (run: unit -> int) =
    let output = new StringWriter()
    let previous = AnsiConsole.Console
    let console = AnsiConsole.Create(AnsiConsoleSettings(Out = AnsiConsoleOutput(output), Ansi = AnsiSupport.No))
    console.Profile.Width <- 400
    AnsiConsole.Console <- console
    try
        let code = run ()
        code, output.ToString()
    finally
        AnsiConsole.Console <- previous

/// A one-layer width-16 model on flip-flop, 20 steps on one thread: each task is mostly process start-up.
let private sweep (name: string) =
    let experiment =
        ExperimentSpec(
            Name = name,
            Model = ModelDsl.Core.Model.ModelSpec.Llama(ModelDsl.Core.Tasks.FlipFlop.Vocabulary, 16, 1, 2),
            Task = ModelDsl.Core.Tasks.FlipFlop(),
            Training =
                ModelDsl.Core.Training.TrainingSpec(
                    Optimizer = ModelDsl.Core.Training.AdamW(Lr = 1e-2),
                    Budget = ModelDsl.Core.Training.StepBudget(20L),
                    GlobalBatch = 4,
                    MicroBatch = 4,
                    Eval = ModelDsl.Core.Training.EvalSpec(Every = 0, Batches = 1, Problems = 0),
                    Checkpoint = ModelDsl.Core.Training.CheckpointSpec(Every = 0, Keep = 2),
                    Seed = 5,
                    Threads = Nullable 1))
    Sweep.compare name [ experiment |> Sweep.grid [ Axis.lr [ 1e-3; 3e-3; 1e-2; 3e-2 ] ] |> Sweep.label "adamw" ]
    |> Sweep.toSpecOrFail

let private slurm () =
    let dotnet = if Path.GetFileNameWithoutExtension(Environment.ProcessPath) = "dotnet" then Environment.ProcessPath else "dotnet"
    SweepCommand.slurmBackend { SweepCommand.localChoice with Name = "slurm"; Cpus = Some 1 } [ dotnet; cliDll ] (TimeSpan.FromSeconds 0.5)

/// key -> (status, validation loss, train loss, steps) of every run in a sweep folder's store.
let private results (sweepFolder: string) (name: string) =
    use store = RunStore.Open(Path.Combine(sweepFolder, "index.sqlite"))
    store.RunsOf name
    |> Seq.map (fun r -> r.Key, (r.Status, r.ValidationLoss, r.TrainLoss, r.Steps))
    |> Map.ofSeq

let private ledgerLines (sweepFolder: string) =
    let path = Path.Combine(sweepFolder, "slurm", "jobs.tsv")
    if File.Exists path then File.ReadAllLines path |> Array.filter (fun l -> l.Length > 0) else [||]

[<Tests>]
let tests =
    testSequenced <| testList "slurm sweeps" [
        test "a 4-point grid through Slurm's job array gives the local backend's results" {
            withCluster (fun () ->
                withFolder (fun root ->
                    let spec = sweep "slurm-grid"
                    let localCode, localOutput = captured (fun () -> SweepCommand.runSweep spec (Some (Path.Combine(root, "local"))) None CancellationToken.None)
                    Expect.equal localCode 0 $"the local sweep succeeds:\n{localOutput}"
                    let slurmCode, slurmOutput =
                        captured (fun () -> SweepCommand.runSweepOn (slurm ()) spec (Some (Path.Combine(root, "slurm"))) None CancellationToken.None)
                    Expect.equal slurmCode 0 $"the Slurm sweep succeeds:\n{slurmOutput}"
                    let folder = Path.Combine(root, "slurm", spec.Name)
                    let local = results (Path.Combine(root, "local", spec.Name)) spec.Name
                    let onSlurm = results folder spec.Name
                    Expect.equal local.Count 4 "four runs locally"
                    for KeyValue(_, (status, _, _, _)) in onSlurm do Expect.equal status RunStoreStatus.Finished "every Slurm run finished"
                    Expect.equal onSlurm local "same keys, statuses, losses and steps on both backends"
                    let ledger = ledgerLines folder
                    Expect.equal ledger.Length 4 "one line per array task"
                    Expect.equal (ledger |> Array.map (fun l -> l.Split('\t')[0]) |> Array.distinct |> Array.length) 1 "the grid is one job"
                    Expect.stringContains slurmOutput "as array 0-3" "the round was submitted as one array"
                    Expect.isTrue (File.Exists(Path.Combine(folder, "report.md"))) "the report is written"))
        }

        test "a cancelled array task is reported, never counted, and a rerun completes the sweep" {
            withCluster (fun () ->
                withFolder (fun root ->
                    let spec = sweep "slurm-cancel"
                    let folder = Path.Combine(root, spec.Name)
                    let first =
                        System.Threading.Tasks.Task.Run<int * string>(Func<int * string>(fun () ->
                            captured (fun () -> SweepCommand.runSweepOn (slurm ()) spec (Some root) None CancellationToken.None)))
                    // Cancel the last task as soon as the array is submitted (two CPUs: it is still pending or just started).
                    let deadline = DateTime.UtcNow.AddMinutes 2.0
                    while (ledgerLines folder).Length < 4 && not first.IsCompleted && DateTime.UtcNow < deadline do Thread.Sleep 50
                    let ledger = ledgerLines folder
                    let sweepState = if first.IsCompleted then snd first.Result else "still running"
                    Expect.equal ledger.Length 4 $"the array was submitted (sweep output: {sweepState})"
                    let lastTask = ledger[3].Split('\t')
                    let taskId = $"{lastTask[0]}_{lastTask[1]}"
                    let cancelCode, cancelOutput = shell "scancel" [ taskId ]
                    Expect.equal cancelCode 0 $"scancel {taskId}: {cancelOutput}"
                    let code, output = first.Result
                    Expect.equal code 1 $"the sweep fails while a task has no result:\n{output}"
                    Expect.stringContains output $"task {taskId} (adamw base-budget lr=0.03)" "names the cancelled task and its point"
                    Expect.stringContains output "ended without recording a result" "says what happened"
                    let afterFirst = results folder spec.Name
                    let cancelledKey = lastTask[2]
                    let status, loss, _, _ = afterFirst[cancelledKey]
                    Expect.equal status RunStoreStatus.Running "the cancelled point is not finished"
                    Expect.isNone (Option.ofNullable loss) "and has no loss"
                    Expect.equal (afterFirst |> Map.filter (fun _ (s, _, _, _) -> s = RunStoreStatus.Finished) |> Map.count) 3 "the other three finished"

                    let code, output = captured (fun () -> SweepCommand.runSweepOn (slurm ()) spec (Some root) None CancellationToken.None)
                    Expect.equal code 0 $"the rerun completes the sweep:\n{output}"
                    Expect.stringContains output "1 run(s) as array 0-0" "only the cancelled point is submitted again"
                    let afterRerun = results folder spec.Name
                    for KeyValue(_, (status, _, _, _)) in afterRerun do Expect.equal status RunStoreStatus.Finished "every run finished"
                    for KeyValue(key, value) in afterFirst do
                        if key <> cancelledKey then Expect.equal afterRerun[key] value "finished runs are not trained again"
                    Expect.equal (ledgerLines folder).Length 5 "one more task in the ledger"))
        }
    
        test "a rerun after the submitting process stopped waits for the tasks still queued instead of submitting them again" {
            withCluster (fun () ->
                withFolder (fun root ->
                    let spec = sweep "slurm-adopt"
                    let folder = Path.Combine(root, spec.Name)
                    use stop = new CancellationTokenSource()
                    let first =
                        System.Threading.Tasks.Task.Run<int * string>(Func<int * string>(fun () ->
                            captured (fun () -> SweepCommand.runSweepOn (slurm ()) spec (Some root) None stop.Token)))
                    let deadline = DateTime.UtcNow.AddMinutes 2.0
                    while (ledgerLines folder).Length < 4 && not first.IsCompleted && DateTime.UtcNow < deadline do Thread.Sleep 50
                    // The submitter goes away right after submitting; its job runs on.
                    stop.Cancel()
                    Expect.throwsT<AggregateException> (fun () -> first.Result |> ignore) "the first submitter stopped waiting"
                    let ledger = ledgerLines folder
                    Expect.equal ledger.Length 4 "the array was submitted"
                    let lastTask = ledger[3].Split('\t')
                    let code, output = captured (fun () -> SweepCommand.runSweepOn (slurm ()) spec (Some root) None CancellationToken.None)
                    Expect.equal code 0 $"the rerun completes the sweep:\n{output}"
                    // Two CPUs: the last two tasks cannot have started, let alone finished, when the rerun asks.
                    Expect.stringContains output $"waiting for task {lastTask[0]}_{lastTask[1]}" "the queued task is waited for"
                    Expect.isFalse (output.Contains "submitted job") "nothing is submitted again"
                    Expect.equal (ledgerLines folder).Length 4 "the ledger is unchanged"
                    for KeyValue(_, (status, _, _, _)) in results folder spec.Name do Expect.equal status RunStoreStatus.Finished "every run finished"))
        }
    ]
