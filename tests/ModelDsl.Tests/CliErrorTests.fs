/// User errors and I/O failures through the CLI: bad paths and options for every command, unwritable
/// and non-directory run folders, a damaged sweep index, a full disk. Each is one message naming the
/// path (exit code 1 or 2), never a stack trace (unless --debug), and never loses what was there.
module ModelDsl.Tests.CliErrorTests

open System
open System.Diagnostics
open System.IO
open Expecto
open ModelDsl.Core
open ModelDsl.Core.Json
open ModelDsl.Tests.CliHarness

let private expectError (expectedCode: int) (mentions: string) ((code, output): int * string) =
    Expect.equal code expectedCode $"exit code; output: {output}"
    Expect.stringContains (Text.RegularExpressions.Regex.Replace(output, @"\s+", " ")) mentions "the message names the path or field"
    Expect.isFalse (hasTrace output) $"no stack trace or exception name: {output}"

/// Mounts a tmpfs of the given size (needs root); None when this machine does not allow it.
let private mountTmpfs (path: string) (size: string) =
    Directory.CreateDirectory path |> ignore
    use mount = Process.Start(ProcessStartInfo("mount", [ "-t"; "tmpfs"; "-o"; $"size={size}"; "tmpfs"; path ], RedirectStandardError = true, UseShellExecute = false))
    mount.WaitForExit()
    if mount.ExitCode = 0 then Some path else None

let private unmount (path: string) =
    use umount = Process.Start(ProcessStartInfo("umount", [ path ], UseShellExecute = false))
    umount.WaitForExit()

let private sweepJson (name: string) =
    let arm = Sweeps.SweepArm(Label = "adamw", Base = tinySpec 2L 0,
                              Axes = ValueList<Sweeps.SweepAxis>([ Sweeps.SweepAxis(Path = "training.optimizer.lr", Values = ValueList<float>([ 1e-2 ])) ]),
                              Search = Sweeps.GridSearch())
    SpecJson.Serialize(Sweeps.SweepSpec(Name = name, Arms = ValueList<Sweeps.SweepArm>([ arm ])))

[<Tests>]
let tests =
    testSequenced <| testList "cli errors" [
        test "--runs-dir naming a file: one message naming it; the file is untouched" {
            withFolder <| fun folder ->
                let spec = writeSpec folder (tinySpec 2L 0)
                let file = writeJson (Path.Combine(folder, "runs.txt")) "keep me"
                cli [ "run"; spec; "--runs-dir"; file ] |> expectError 1 file
                Expect.equal (File.ReadAllText file) "keep me" "the file is unchanged"
                cli [ "run"; spec; "--run-dir"; file ] |> expectError 1 file
                Expect.equal (File.ReadAllText file) "keep me" "the file is unchanged"
                cli [ "resume"; file ] |> expectError 1 file
        }

        test "a runs folder that cannot be written (under /proc): one message naming it" {
            withFolder <| fun folder ->
                let spec = writeSpec folder (tinySpec 2L 0)
                cli [ "run"; spec; "--runs-dir"; "/proc/modeldsl-runs" ] |> expectError 1 "/proc/modeldsl-runs"
        }

        test "--debug adds the stack trace; without it there is none" {
            withFolder <| fun folder ->
                let spec = writeSpec folder (tinySpec 2L 0)
                let file = writeJson (Path.Combine(folder, "runs.txt")) "keep me"
                let code, output = cli [ "--debug"; "run"; spec; "--runs-dir"; file ]
                Expect.equal code 1 output
                Expect.stringContains output "   at " "a stack trace with --debug"
                let code, output = cli [ "run"; spec; "--runs-dir"; file; "--debug" ]
                Expect.equal code 1 output
                Expect.stringContains output "   at " "--debug anywhere on the command line"
        }

        test "a damaged sweep index is reported with its path and left as it was" {
            withFolder <| fun folder ->
                let sweepsDir = Path.Combine(folder, "sweeps")
                let spec = writeJson (Path.Combine(folder, "sweep.json")) (sweepJson "broken")
                let index = writeJson (Path.Combine(sweepsDir, "broken", "index.sqlite")) "this is not a database, but it is somebody's file\n"
                cli [ "sweep"; spec; "--sweeps-dir"; sweepsDir ] |> expectError 1 index
                Expect.equal (File.ReadAllText index) "this is not a database, but it is somebody's file\n" "the index is untouched"
                cli [ "report"; "broken"; "--sweeps-dir"; sweepsDir ] |> expectError 1 index
        }

        test "a full disk (64 KiB tmpfs, or a 64 KiB file-size limit) stops the run with a message naming the file; what was there survives" {
            withFolder <| fun folder ->
                let spec = writeSpec folder (tinySpec 200L 1)
                let small = Path.Combine(folder, "small")
                let mounted = mountTmpfs small "64k"
                try
                    let precious = writeJson (Path.Combine(small, "notes.txt")) "earlier results"
                    let runDir = Path.Combine(small, "run")
                    let code, output, full =
                        match mounted with
                        | Some _ ->
                            let code, output = cli [ "run"; spec; "--run-dir"; runDir ]
                            code, output, "No space left on device"
                        | None ->
                            // Without the right to mount: the same failure from a per-process file-size limit (EFBIG).
                            let command = $"trap '' XFSZ; ulimit -f 64; exec dotnet '{cliDll}' run '{spec}' --run-dir '{runDir}'"
                            use child = Process.Start(ProcessStartInfo("bash", [ "-c"; command ], RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false))
                            let stdout = child.StandardOutput.ReadToEndAsync()
                            let stderr = child.StandardError.ReadToEndAsync()
                            child.WaitForExit()
                            child.ExitCode, stdout.Result + stderr.Result, "File too large"
                    expectError 1 runDir (code, output)
                    Expect.stringContains output full "says what went wrong"
                    Expect.equal (File.ReadAllText precious) "earlier results" "other files are untouched"
                    Expect.equal (File.ReadAllText(Path.Combine(runDir, "spec.json"))) (File.ReadAllText spec) "spec.json is whole"
                    Expect.isFalse (File.Exists(Path.Combine(runDir, ModelDsl.Runtime.Runs.RunLock.FileName))) "the lock is released"
                    // Every checkpoint left behind is complete (it verifies) and no temporary file is left.
                    let store = ModelDsl.Runtime.Runs.CheckpointStore(Path.Combine(runDir, "checkpoints"), 2)
                    for struct (_, path) in store.List() do ModelDsl.Runtime.Runs.Checkpoint.ReadHeader path |> ignore
                    Expect.isEmpty (Directory.GetFiles(Path.Combine(runDir, "checkpoints"), ".*.tmp")) "no temporary file is left"
                finally
                    if mounted.IsSome then unmount small
        }

        test "bad paths and options of every command: one message, exit 1 or 2, no trace" {
            withFolder <| fun folder ->
                let missing = Path.Combine(folder, "missing.json")
                let spec = writeSpec folder (tinySpec 2L 0)
                cli [ "validate"; missing ] |> expectError 1 missing
                cli [ "info"; missing ] |> expectError 1 missing
                cli [ "run"; missing ] |> expectError 1 missing
                cli [ "validate"; folder ] |> expectError 1 folder
                let text = writeJson (Path.Combine(folder, "spec.txt")) "{}"
                cli [ "run"; text ] |> expectError 1 text
                cli [ "resume"; Path.Combine(folder, "nowhere") ] |> expectError 1 "nowhere"
                cli [ "sweep"; missing ] |> expectError 1 missing
                cli [ "report"; "nowhere"; "--sweeps-dir"; folder ] |> expectError 1 "nowhere"
                cli [ "interpolate"; Path.Combine(folder, "a"); Path.Combine(folder, "b"); "--alpha"; "0.5"; "--out"; Path.Combine(folder, "out") ]
                |> expectError 1 (Path.Combine(folder, "a"))
                cli [ "interpolate"; Path.Combine(folder, "a"); "--alpha"; "0.5"; "--out"; Path.Combine(folder, "out") ] |> expectError 1 "two models"
                // Overrides that break a rule are validation errors naming the field (exit 2), before any run directory.
                let runs = Path.Combine(folder, "runs")
                cli [ "run"; spec; "--runs-dir"; runs; "--steps"; "-5" ] |> expectError 2 "training.budget"
                cli [ "run"; spec; "--runs-dir"; runs; "--threads"; "0" ] |> expectError 2 "training.threads"
                cli [ "run"; spec; "--runs-dir"; runs; "--device"; "tpu" ] |> expectError 2 "training.device"
                cli [ "quickstart"; "--runs-dir"; runs; "--threads"; "0" ] |> expectError 2 "training.threads"
                if not (TorchSharp.torch.cuda.is_available ()) then
                    cli [ "run"; spec; "--runs-dir"; runs; "--device"; "cuda" ] |> expectError 2 "training.device"
                    let gpu = writeJson (Path.Combine(folder, "gpu", "spec.json")) ((SpecJson.Serialize(tinySpec 2L 0)).Replace("\"device\": \"cpu\"", "\"device\": \"cuda\""))
                    cli [ "validate"; gpu ] |> expectError 2 "training.device"
                Expect.isFalse (Directory.Exists runs) "no run directory for a rejected run"
                // Unknown options are Argu's usage errors (exit 2, like an invalid spec).
                let code, output = cli [ "run"; spec; "--no-such-option" ]
                Expect.equal code 2 output
                Expect.isFalse (hasTrace output) output
        }

        test "the memory check refuses a spec too large for this machine, names the override, and the override is honoured by validate" {
            withFolder <| fun folder ->
                let huge = ExperimentSpec(
                    Name = "huge", Model = Model.ModelSpec.Llama(256, 16384, 256, 128), Task = Tasks.FlipFlop(),
                    Training = Training.TrainingSpec(Budget = Training.StepBudget(1L)))
                let spec = writeSpec folder huge
                let runs = Path.Combine(folder, "runs")
                cli [ "validate"; spec ] |> expectError 2 "--ignore-memory-check"
                cli [ "run"; spec; "--runs-dir"; runs ] |> expectError 2 "--ignore-memory-check"
                Expect.isFalse (Directory.Exists runs) "no run directory"
                let code, output = cli [ "validate"; spec; "--ignore-memory-check" ]
                Expect.equal code 0 output
                let code, output = cli [ "info"; spec ]
                Expect.equal code 0 output
                Expect.stringContains output "training memory" "info shows the estimate"
        }
    ]
