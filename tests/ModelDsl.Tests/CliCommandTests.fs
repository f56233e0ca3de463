/// The `modeldsl` commands through the real executable (a child process): argument errors, validate,
/// info, report, quickstart and Ctrl+C. Everything they write goes to temporary folders.
module ModelDsl.Tests.CliCommandTests

open System
open System.Diagnostics
open System.IO
open Expecto
open ModelDsl.Core
open ModelDsl.Core.Json
open ModelDsl.Tests.CliHarness

let private withFolder (body: string -> unit) =
    let folder = Directory.CreateTempSubdirectory("modeldsl-cli-command-").FullName
    try body folder finally Directory.Delete(folder, true)

let private startInfo (args: string list) (workingDirectory: string) =
    // `env --default-signal=INT` undoes an ignored SIGINT inherited from a background shell, so that
    // the child sees Ctrl+C as a terminal would deliver it.
    let start = ProcessStartInfo("env", [ yield "--default-signal=INT"; yield "dotnet"; yield cliDll; yield! args ],
                                 RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
                                 WorkingDirectory = workingDirectory)
    start.Environment["COLUMNS"] <- "200"
    start

/// Runs the built CLI to completion in `workingDirectory`; returns the exit code, stdout and stderr.
let private runIn (workingDirectory: string) (args: string list) =
    use child = Process.Start(startInfo args workingDirectory)
    let stdout = child.StandardOutput.ReadToEndAsync()
    let stderr = child.StandardError.ReadToEndAsync()
    if not (child.WaitForExit 300000) then
        child.Kill true
        failtestf "modeldsl %A did not finish within five minutes" args
    child.WaitForExit()
    child.ExitCode, stdout.Result, stderr.Result

let private tinySpec (steps: int64) =
    ExperimentSpec(
        Name = "cli-command",
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
                Seed = 3,
                Threads = Nullable 1))

let private write (folder: string) (name: string) (text: string) =
    let path = Path.Combine(folder, name)
    File.WriteAllText(path, text)
    path

/// Argu's usage: the options of the command with their descriptions.
let private usageShown (output: string) =
    Expect.stringContains output "OPTIONS:" "the usage is printed"
    Expect.stringContains output "--help" "with the options"

[<Tests>]
let tests =
    // Child processes of the built executable that train: sequenced with the other training tests.
    Sequencing.training <| testList "modeldsl commands (real executable)" [
        test "an unknown option exits 2 naming it, with the usage" {
            withFolder <| fun folder ->
                let spec = write folder "spec.json" (SpecJson.Serialize(tinySpec 1L))
                let code, stdout, stderr = runIn folder [ "validate"; spec; "--bogus" ]
                Expect.equal code 2 $"exit code ({stdout}{stderr})"
                Expect.stringContains stderr "--bogus" "names the option"
                usageShown stderr
        }

        test "a missing argument or subcommand exits 2 with the usage" {
            withFolder <| fun folder ->
                let code, stdout, stderr = runIn folder [ "run" ]
                Expect.equal code 2 $"run without a file ({stdout}{stderr})"
                usageShown stderr
                let code, stdout, stderr = runIn folder [ "interpolate"; "a"; "b"; "--alpha" ]
                Expect.equal code 2 $"--alpha without its value ({stdout}{stderr})"
                Expect.stringContains stderr "--alpha" "names the option"
                let code, stdout, stderr = runIn folder [ "run"; "x.json"; "--steps"; "many" ]
                Expect.equal code 2 $"--steps with a non-number ({stdout}{stderr})"
                Expect.stringContains stderr "--steps" "names the option"
        }

        test "--help exits 0 with the usage of the command" {
            withFolder <| fun folder ->
                let code, stdout, stderr = runIn folder [ "quickstart"; "--help" ]
                Expect.equal code 0 $"exit code ({stdout}{stderr})"
                let text = stdout + stderr
                Expect.stringContains text "USAGE: modeldsl quickstart" "the quickstart's usage"
                Expect.stringContains text "--steps" "lists its options"
                Expect.isEmpty (Directory.GetFileSystemEntries folder) "nothing was run or written"
        }

        test "validate: an invalid spec exits 2 naming the field; an unreadable one exits 1 naming the file" {
            withFolder <| fun folder ->
                let invalid = tinySpec 1L
                let invalid = ExperimentSpec(Name = invalid.Name, Model = invalid.Model, Task = invalid.Task,
                                             Training = Training.TrainingSpec(Threads = Nullable 0, Budget = Training.StepBudget(-5L)))
                let path = write folder "invalid.json" (SpecJson.Serialize invalid)
                let code, stdout, stderr = runIn folder [ "validate"; path ]
                Expect.equal code 2 $"exit code ({stdout}{stderr})"
                Expect.stringContains stdout "training.threads" "names the first bad field"
                Expect.stringContains stdout "training.budget" "and the second"
                Expect.stringContains stdout "2 validation error(s)" "counts them"
                Expect.isFalse ((stdout + stderr).Contains "   at ") "no stack trace"

                let broken = write folder "broken.json" ((SpecJson.Serialize(tinySpec 1L)).Replace("\"globalBatch\"", "\"globalBatch\": 4, \"globalBatch\""))
                let code, stdout, stderr = runIn folder [ "validate"; broken ]
                Expect.equal code 1 $"exit code ({stdout}{stderr})"
                Expect.stringContains (stdout + stderr) broken "names the file"
                Expect.stringContains (stdout + stderr) "globalBatch" "names the key"

                let missing = Path.Combine(folder, "nowhere.json")
                let code, stdout, stderr = runIn folder [ "validate"; missing ]
                Expect.equal code 1 $"exit code ({stdout}{stderr})"
                Expect.stringContains (stdout + stderr) missing "names the missing file"

                let good = write folder "good.json" (SpecJson.Serialize(tinySpec 1L))
                let code, stdout, stderr = runIn folder [ "validate"; good ]
                Expect.equal code 0 $"a valid spec ({stdout}{stderr})"
                Expect.stringContains stdout "OK cli-command" "says OK with the name"
        }

        test "info prints the compiled model's parameter counts and the budget" {
            withFolder <| fun folder ->
                let spec = tinySpec 40L
                let path = write folder "spec.json" (SpecJson.Serialize spec)
                let code, stdout, stderr = runIn folder [ "info"; path ]
                Expect.equal code 0 $"exit code ({stdout}{stderr})"
                use model = ModelDsl.Runtime.Compile.ModelCompiler.Build(spec.Model)
                let show (n: int64) = n.ToString("N0", Globalization.CultureInfo.InvariantCulture)
                let fact (name: string) =
                    stdout.Split('\n') |> Array.tryFind (fun l -> l.TrimStart().StartsWith(name + " ")) |> Option.map (fun l -> l.Trim())
                let value name = fact name |> Option.map (fun l -> l.Substring(name.Length).Trim())
                // Counted independently here: embedding (tied head) + per block 2 norms, qkv, output, MLP.
                Expect.isGreaterThan model.ParameterCount 0L "a model was built"
                Expect.equal (value "parameters") (Some (show model.ParameterCount)) $"parameters line in:\n{stdout}"
                Expect.equal (value "non-embedding parameters") (Some (show model.NonEmbeddingParameterCount)) "non-embedding parameters"
                Expect.equal (value "total steps") (Some "40") "the step budget"
                Expect.equal (value "tokens per step") (Some (show (4L * int64 (spec.Task.SequenceLength())))) "global batch x sequence length"
                Expect.isEmpty (Directory.GetDirectories folder) "info trains nothing and writes no run"
        }

        test "report of a missing sweep exits 1 naming it" {
            withFolder <| fun folder ->
                let code, stdout, stderr = runIn folder [ "report"; Path.Combine(folder, "no-such-sweep"); "--sweeps-dir"; folder ]
                Expect.equal code 1 $"exit code ({stdout}{stderr})"
                Expect.stringContains (stdout + stderr) "no-such-sweep" "names the sweep"
                Expect.stringContains (stdout + stderr) "sweep.json" "says what is missing"
                Expect.isFalse ((stdout + stderr).Contains "   at ") "no stack trace"
        }

        test "a two-step quickstart trains into the given runs folder" {
            withFolder <| fun folder ->
                let runs = Path.Combine(folder, "runs")
                let code, stdout, stderr = runIn folder [ "quickstart"; "--steps"; "2"; "--threads"; "1"; "--runs-dir"; runs ]
                Expect.equal code 0 $"exit code ({stdout}{stderr})"
                let run = Directory.GetDirectories runs |> Array.exactlyOne
                Expect.stringContains (Path.GetFileName run) "quickstart-parity" "the quickstart's run"
                let spec = SpecJson.LoadExperiment(Path.Combine(run, "spec.json"))
                Expect.equal spec.Training.Budget (Training.StepBudget 2L :> Training.BudgetSpec) "the --steps override reached the run"
                let trainEvents =
                    File.ReadAllLines(Path.Combine(run, "metrics.jsonl")) |> Array.filter (fun l -> l.Contains "\"event\":\"train\"")
                Expect.equal trainEvents.Length 2 "two training steps logged"
        }

        test "Ctrl+C (SIGINT) stops a run with exit code 130 and a checkpoint at the step reached" {
            withFolder <| fun folder ->
                let path = write folder "spec.json" (SpecJson.Serialize(tinySpec 100000L))
                let runDir = Path.Combine(folder, "run")
                use child = Process.Start(startInfo [ "run"; path; "--run-dir"; runDir ] folder)
                let stdout = child.StandardOutput.ReadToEndAsync()
                let stderr = child.StandardError.ReadToEndAsync()
                let metrics = Path.Combine(runDir, "metrics.jsonl")
                let trained () =
                    File.Exists metrics
                    && (use s = new FileStream(metrics, FileMode.Open, FileAccess.Read, FileShare.ReadWrite ||| FileShare.Delete)
                        use r = new StreamReader(s)
                        r.ReadToEnd().Contains "\"event\":\"train\"")
                let deadline = DateTime.UtcNow.AddSeconds 120.0
                while not child.HasExited && not (trained ()) && DateTime.UtcNow < deadline do
                    Threading.Thread.Sleep 20
                if child.HasExited then failtestf "the run ended before it could be interrupted: %s%s" stdout.Result stderr.Result
                use kill = Process.Start("kill", [ "-INT"; string child.Id ])
                kill.WaitForExit()
                if not (child.WaitForExit 60000) then
                    child.Kill true
                    failtest "the run did not stop within a minute of SIGINT"
                child.WaitForExit()
                let output = stdout.Result + stderr.Result
                Expect.equal child.ExitCode 130 $"exit code after SIGINT: {output}"
                Expect.stringContains output "SIGINT" "says what stopped it"
                let checkpoints = Directory.GetFiles(Path.Combine(runDir, "checkpoints"))
                Expect.isNonEmpty checkpoints "a checkpoint of the step reached"
        }
    ]
