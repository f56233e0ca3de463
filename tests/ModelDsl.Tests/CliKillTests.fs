/// SIGKILL: the CLI killed outright (no handler runs) at random points, three times, then continued
/// with `modeldsl resume`: the finished run's losses equal an uninterrupted run's bit for bit.
module ModelDsl.Tests.CliKillTests

open System
open System.IO
open Expecto
open ModelDsl.Runtime.Runs
open ModelDsl.Tests.CliHarness

/// Starts the CLI, waits until its run has logged `afterStep` steps, kills it with SIGKILL, and returns the step it had logged.
let private killDuring (args: string list) (runDirectory: string) (afterStep: int64) =
    let child, stdout, stderr = startChild args
    use child = child
    let deadline = DateTime.UtcNow.AddSeconds 120.0
    while not child.HasExited && lastTrainStep runDirectory < afterStep && DateTime.UtcNow < deadline do
        Threading.Thread.Sleep 5
    if child.HasExited then failtestf "the child ended before it could be killed (exit %d): %s%s" child.ExitCode stdout.Result stderr.Result
    let logged = lastTrainStep runDirectory
    use kill = Diagnostics.Process.Start("kill", [ "-KILL"; string child.Id ])
    kill.WaitForExit()
    Expect.equal kill.ExitCode 0 $"kill -KILL {child.Id}"
    if not (child.WaitForExit 60000) then failtest "the child did not die within a minute of SIGKILL"
    Expect.equal child.ExitCode 137 "killed by SIGKILL (128 + 9)"
    logged

[<Tests>]
let tests =
    testSequenced <| testList "cli sigkill" [
        test "three SIGKILLs at random points, each followed by modeldsl resume: bit-identical losses" {
            withFolder <| fun folder ->
                let steps = 60L
                // Checkpoints every 7 steps: a kill loses the steps since the last one, which the resume recomputes.
                let spec = writeSpec folder (tinySpec steps 7)
                let runDir = Path.Combine(folder, "killed")
                let random = Random 9
                let mutable target = 0L
                let mutable kills = 0
                for attempt in 1 .. 3 do
                    target <- target + int64 (random.Next(3, 16))
                    let args = if attempt = 1 then [ "run"; spec; "--run-dir"; runDir ] else [ "resume"; runDir ]
                    let logged = killDuring args runDir target
                    Expect.isLessThan logged steps $"kill {attempt} came before the end"
                    Expect.isTrue (File.Exists(Path.Combine(runDir, RunLock.FileName))) "a killed process leaves its lock behind"
                    kills <- kills + 1
                    printfn "SIGKILL %d at step %d" attempt logged
                let code, output = cli [ "resume"; runDir ]
                Expect.equal code 0 output
                Expect.stringContains output "stale lock" "the dead process's lock was taken over, with a warning"
                let straight = Path.Combine(folder, "straight")
                let code, output = cli [ "run"; spec; "--run-dir"; straight ]
                Expect.equal code 0 output
                let resumed = finalLosses runDir steps
                Expect.equal resumed.Length (int steps) "every step's loss"
                Expect.sequenceEqual resumed (finalLosses straight steps) "bit-identical losses"
                Expect.equal (lastTrainStep runDir) steps "metrics reach the last step"
                let metricSteps =
                    MetricsLog.Read(Path.Combine(runDir, "metrics.jsonl"), Action<string>(ignore))
                    |> Seq.filter (fun e -> e["event"].GetValue<string>() = "train") |> Seq.map (fun e -> e["step"].GetValue<int64>()) |> List.ofSeq
                Expect.equal metricSteps [ 1L .. steps ] "each step logged once, in order (steps after the last checkpoint are dropped on resume)"
                printfn "SIGKILL: %d kills survived, losses bit-identical over %d steps" kills steps
        }
    ]
