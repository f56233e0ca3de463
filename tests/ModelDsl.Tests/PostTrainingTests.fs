/// Post-training in the DSL (Source, Experiment.initFrom / rl / samplingEval) and `modeldsl interpolate`.
module ModelDsl.Tests.PostTrainingTests

open System.IO
open Expecto
open Spectre.Console
open ModelDsl
open ModelDsl.Core
open ModelDsl.Core.FineTune
open ModelDsl.Core.Json
open ModelDsl.Core.Model
open ModelDsl.Core.Rl
open ModelDsl.Core.Tasks
open ModelDsl.Runtime.Compile
open ModelDsl.Runtime.FineTune
open ModelDsl.Runtime.Runs

let private arithmetic = ChainedArithmetic(Modulus = 5, Steps = 3)

let private tiny width =
    Experiment.pretrain "tiny" (Model.llama (vocab = 6, width = width, depth = 1, heads = 2) |> fun m -> Ir.With(m, m.MaxSequenceLength, 16))
    |> Experiment.task arithmetic

/// A run directory holding one checkpoint of a freshly initialised tiny model.
let private savedRun (folder: string) (name: string) (width: int) (seed: int64) =
    let spec = tiny width
    let directory = Path.Combine(folder, name)
    use model = ModelCompiler.Build(spec.Model, seed = seed)
    CheckpointStore(Path.Combine(directory, "checkpoints"), 1).Save(CheckpointHeader(5L, SpecJson.Serialize spec, [| 1.0 |], 0.0), model, null) |> ignore
    directory

let private weights (model: TorchSharp.torch.nn.Module) =
    model.state_dict().Values
    |> Seq.collect (fun t -> t.``to``(TorchSharp.torch.ScalarType.Float32).data<float32>().ToArray())
    |> Array.ofSeq

/// Runs the CLI's entry point with its console output captured; returns the exit code and the text.
let private cli (arguments: string list) =
    let writer = new StringWriter()
    let previous = AnsiConsole.Console
    let console =
        AnsiConsole.Create(AnsiConsoleSettings(Out = AnsiConsoleOutput(writer), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors,
                                               Interactive = InteractionSupport.No))
    console.Profile.Width <- 10000
    AnsiConsole.Console <- console
    let previousOut = System.Console.Out
    System.Console.SetOut writer
    try
        let code = ModelDsl.Cli.Program.main (Array.ofList arguments)
        code, writer.ToString()
    finally
        System.Console.SetOut previousOut
        AnsiConsole.Console <- previous

let private withFolder (body: string -> unit) =
    let folder = Directory.CreateTempSubdirectory("modeldsl-post-").FullName
    try body folder finally Directory.Delete(folder, true)

[<Tests>]
let lowering =
    testList "post-training DSL" [
        test "Source helpers lower to the IR's model sources" {
            let source = Source.perturb (Source.interpolate (Source.run "runs/a") (Source.checkpoint "b.ckpt") 0.25) 0.01 7L
            let expected =
                PerturbedSource(
                    Source = InterpolatedSource(A = RunSource(Path = "runs/a"), B = CheckpointSource(Path = "b.ckpt"), Alpha = 0.25),
                    Gamma = 0.01, NoiseSeed = 7L)
            Expect.equal source (expected :> ModelSource) "source"
            Expect.equal (Source.huggingFace "hf/llama") (HuggingFaceSource(Path = "hf/llama") :> ModelSource) "huggingFace"
        }

        test "initFrom and rl set the experiment's init and rl; RL without init fails validation at init" {
            let rl = RlSpec(GroupSize = 4, PromptsPerStep = 2)
            let spec = tiny 16 |> Experiment.initFrom (Source.run "runs/pre") |> Experiment.rl rl
            Expect.equal spec.Init (RunSource(Path = "runs/pre") :> ModelSource) "init"
            Expect.equal spec.Rl rl "rl"
            Expect.isEmpty (List.ofSeq (spec.Validate())) "valid"
            match tiny 16 |> Experiment.rl rl |> Experiment.toSpec with
            | Error errors -> Expect.contains (errors |> List.map _.Path) "init" "init is required"
            | Ok _ -> failtest "RL without init must not validate"
        }

        test "samplingEval sets training.eval.sampling and keeps only the ks that fit the samples" {
            let spec = tiny 16 |> Experiment.samplingEval (problems = 8, samples = 4, temperature = 0.7, seed = 3L)
            let sampling = spec.Training.Eval.Sampling
            Expect.equal (sampling.Problems, sampling.Samples, sampling.Sampling.Temperature, sampling.Seed) (8, 4, 0.7, 3L) "settings"
            Expect.equal (List.ofSeq sampling.Ks) [ 1; 2; 4 ] "ks up to the samples"
            Expect.isEmpty (List.ofSeq (spec.Validate())) "valid"
            let explicitKs = tiny 16 |> Experiment.samplingEval (samples = 8, ks = [ 1; 8 ])
            Expect.equal (List.ofSeq explicitKs.Training.Eval.Sampling.Ks) [ 1; 8 ] "explicit ks"
        }

        test "a WiSE-FT alpha sweep is one list comprehension" {
            let pre, ft = Source.run "runs/pre", Source.run "runs/ft"
            let sweep = [ for a in [ 0.0; 0.25; 0.5; 0.75; 1.0 ] -> tiny 16 |> Experiment.initFrom (Source.interpolate pre ft a) |> Experiment.name $"wise-{a}" ]
            let alphas = sweep |> List.map (fun s -> (s.Init :?> InterpolatedSource).Alpha)
            Expect.equal alphas [ 0.0; 0.25; 0.5; 0.75; 1.0 ] "alphas"
            Expect.equal (sweep |> List.map _.Name |> List.distinct |> List.length) 5 "distinct names"
            for spec in sweep do Expect.equal (SpecJson.Deserialize<ExperimentSpec>(SpecJson.Serialize spec)) spec "JSON round trip"
        }
    ]

[<Tests>]
let interpolateCommand =
    // Sequenced with the other training tests: they swap the process-wide console to read the CLI's output.
    Sequencing.training <| testList "modeldsl interpolate and run (RL)" [
        test "writes the mixed weights as a run directory" {
            withFolder <| fun folder ->
                let a, b = savedRun folder "a" 16 1L, savedRun folder "b" 16 2L
                let out = Path.Combine(folder, "mix")
                let code, text = cli [ "interpolate"; a; b; "--alpha"; "0.5"; "--out"; out ]
                Expect.equal code 0 text
                let spec = tiny 16
                use mixed = ModelLoader.Load(RunSource(Path = out), spec.Model)
                use ma = ModelLoader.Load(RunSource(Path = a), spec.Model)
                use mb = ModelLoader.Load(RunSource(Path = b), spec.Model)
                // At alpha 0.5 each element is the correctly rounded mean (exact in float64 before rounding).
                let expected = Array.map2 (fun (x: float32) (y: float32) -> float32 (0.5 * float x + 0.5 * float y)) (weights ma) (weights mb)
                Expect.equal (weights mixed) expected "elementwise mean"
                Expect.isTrue (File.Exists(Path.Combine(out, "source.json"))) "provenance"
        }

        test "mismatched architectures, missing inputs and a bad alpha exit non-zero with one error line" {
            withFolder <| fun folder ->
                let a, wide = savedRun folder "a" 16 1L, savedRun folder "wide" 32 2L
                let code, text = cli [ "interpolate"; a; wide; "--alpha"; "0.5"; "--out"; Path.Combine(folder, "x") ]
                Expect.equal code 1 "mismatch exit code"
                Expect.stringContains text "different architecture" "mismatch message"
                Expect.stringContains text "model.width" "names the field"
                Expect.isFalse (text.Contains "   at ") "no stack trace"
                Expect.isFalse (Directory.Exists(Path.Combine(folder, "x", "checkpoints")) && Directory.GetFiles(Path.Combine(folder, "x", "checkpoints")).Length > 0) "nothing written"
                let code, text = cli [ "interpolate"; a; Path.Combine(folder, "nowhere"); "--alpha"; "0.5"; "--out"; Path.Combine(folder, "y") ]
                Expect.equal code 1 "missing exit code"
                Expect.stringContains text "nowhere" "names the missing input"
                let code, text = cli [ "interpolate"; a; a; "--alpha"; "1.5"; "--out"; Path.Combine(folder, "z") ]
                Expect.equal code 1 "alpha exit code"
                Expect.stringContains text "alpha" "names alpha"
                Expect.isFalse (text.Contains "   at ") "no stack trace"
        }

        test "an RL script runs like a pre-training one and reports reward and accuracy" {
            withFolder <| fun folder ->
                let pre = savedRun folder "pre" 16 1L
                let script = Path.Combine(folder, "rl.fsx")
                let lines =
                    [ "let experiment ="
                      "    Experiment.pretrain \"rl-tiny\" (Model.llama (vocab = 6, width = 16, depth = 1, heads = 2) |> fun m -> ModelDsl.Ir.With(m, m.MaxSequenceLength, 16))"
                      "    |> Experiment.task (ChainedArithmetic(Modulus = 5, Steps = 3))"
                      "    |> Experiment.initFrom (Source.run @\"PRE\")"
                      "    |> Experiment.rl (RlSpec(GroupSize = 4, PromptsPerStep = 2, MicroBatch = 8))"
                      "    |> Experiment.budget (Budget.steps 2)"
                      "    |> Experiment.eval (0, batches = 1, problems = 2)" ]
                File.WriteAllText(script, (String.concat "\n" lines).Replace("PRE", pre) + "\n")
                let runs = Path.Combine(folder, "runs")
                let code, text = cli [ "run"; script; "--runs-dir"; runs ]
                Expect.equal code 0 text
                Expect.stringContains text "reward" "progress shows the reward"
                Expect.stringContains text "accuracy" "and the accuracy"
                Expect.isFalse (text.Contains " loss 0") "no training loss in the progress"
                let run = Directory.GetDirectories runs |> Array.exactlyOne
                let events = MetricsLog.Read(Path.Combine(run, "metrics.jsonl")) |> Seq.map (fun e -> string e["event"]) |> List.ofSeq
                Expect.equal (events |> List.filter ((=) "rl") |> List.length) 2 "two rl events"
                Expect.contains events "eval" "an eval event"
        }
    ]
