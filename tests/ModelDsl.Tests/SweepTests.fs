/// Sweeps: JSON round trip of the IR, DSL lowering, and the optimizer-sweep example in quick mode.
module ModelDsl.Tests.SweepTests

open System
open System.IO
open Expecto
open FsCheck
open FsCheck.FSharp
open ModelDsl
open ModelDsl.Core
open ModelDsl.Core.Json
open ModelDsl.Core.Sweeps
open ModelDsl.Cli

let private repositoryRoot =
    let rec up (directory: DirectoryInfo) =
        if isNull directory then failwith "no repository root above the test assembly"
        elif File.Exists(Path.Combine(directory.FullName, "modeldsl.fsx")) then directory.FullName
        else up directory.Parent
    up (DirectoryInfo AppContext.BaseDirectory)

let private tiny = Experiment.pretrain "tiny" (Model.llama (vocab = 4, width = 16, depth = 1, heads = 2))

[<Tests>]
let tests =
    testList "sweeps" [
        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 200 } "any SweepSpec survives Serialize/Deserialize with equality" (
            Prop.forAll (Arb.fromGen IrGenerators.sweep) (fun spec ->
                let back = SpecJson.Deserialize<SweepSpec>(SpecJson.Serialize spec)
                (back = spec) |> Prop.label (SpecJson.Serialize spec)))

        test "the DSL lowers axes, searches, arms and ratios" {
            let sweep =
                Sweep.compare "study" [
                    tiny |> Sweep.coordinateDescent [ Axis.lr [ 1e-3; 3e-3 ]; Axis.weightDecay [ 0.0; 0.1 ] |> Axis.named "wd" ] |> Sweep.label "a"
                    tiny |> Sweep.grid [ Axis.path "training.optimizer.beta2" [ 0.95; 0.99 ] ] |> Sweep.label "b"
                ]
                |> Sweep.ratios [ 1.0; 2.0 ]
                |> Sweep.startAt [ 1; 0 ]
                |> Sweep.baseline "b"
            match Sweep.toSpec sweep with
            | Error errors -> failtestf "%A" errors
            | Ok spec ->
                Expect.equal spec.Name "study" "name"
                Expect.equal (List.ofSeq spec.Ratios) [ 1.0; 2.0 ] "ratios"
                Expect.equal spec.Baseline "b" "baseline"
                let a, b = spec.Arms[0], spec.Arms[1]
                Expect.equal (a.Axes |> Seq.map _.Label |> List.ofSeq) [ "lr"; "wd" ] "labels"
                Expect.equal a.Axes[0].Path "training.optimizer.lr" "lr path"
                match a.Search with
                | :? CoordinateDescentSearch as cd ->
                    Expect.equal (List.ofSeq cd.Start) [ 1; 0 ] "start"
                    Expect.equal cd.TieThreshold 3e-3 "tie threshold"
                | other -> failtestf "expected coordinate descent, got %A" other
                Expect.isTrue (b.Search :? GridSearch) "grid arm keeps its search"
                Expect.equal b.Base tiny "the arm's base is the experiment"
        }

        test "a misspelt axis path is a validation error naming the axis" {
            match tiny |> Sweep.grid [ Axis.path "training.optimiser.lr" [ 1e-3 ] ] |> Sweep.toSpec with
            | Ok _ -> failtest "a path to no field must not validate"
            | Error [ error ] ->
                Expect.equal error.Path "arms[0].axes[0].path" "path"
                Expect.stringContains error.Message "optimiser" "names the missing field"
            | Error errors -> failtestf "expected one error, got %A" errors
        }

        Sequencing.training <| test "the optimizer-sweep example runs end to end in quick mode and reports every arm and ratio" {
            let script = Path.Combine(repositoryRoot, "examples", "optimizer_sweep.fsx")
            let root = Directory.CreateTempSubdirectory("modeldsl-sweep-example-").FullName
            try
                // The corpus goes to the temporary folder too: the test writes nothing into the repository.
                let corpusFolder = Path.Combine(root, "corpus")
                let before = Environment.GetEnvironmentVariable "MODELDSL_CORPUS_DIR"
                let spec =
                    Sequencing.withEnvironment [ "MODELDSL_SWEEP_QUICK", "1"; "MODELDSL_CORPUS_DIR", corpusFolder ] <| fun () ->
                        match SweepSource.load script with
                        | Ok spec -> spec
                        | Error failure -> failtestf "the example failed to load: %A" failure
                Expect.equal spec.Name "optimizer-sweep-quick" "quick mode is selected by the environment"
                Expect.equal (Environment.GetEnvironmentVariable "MODELDSL_CORPUS_DIR") before "the environment is restored"
                let corpus = (spec.Arms[0].Base.Task :?> ModelDsl.Core.Tasks.TextCorpus).Path
                Expect.equal (Path.GetDirectoryName corpus) corpusFolder "the corpus is written where the environment says"
                Expect.stringContains (File.ReadAllText corpus) "public static class SpecJson" "the corpus holds the current sources"
                let exitCode = SweepCommand.runSweep spec (Some root) None Threading.CancellationToken.None
                Expect.equal exitCode 0 "exit code"
                let report = File.ReadAllText(Path.Combine(root, spec.Name, "report.md"))
                for arm in spec.Arms do
                    for ratio in spec.Ratios do
                        Expect.stringContains report $"| {arm.Label} | {ratio}x |" $"a row for {arm.Label} at {ratio}x"
                Expect.stringContains report "Baseline `adamW`: L(k) =" "the baseline's scaling fit"
                Expect.isTrue (File.Exists(Path.Combine(root, spec.Name, "plots", "final-loss.png"))) "final-loss plot"
            finally
                Directory.Delete(root, true)
        }

        Sequencing.training <| test "a stale corpus is rebuilt from the current sources" {
            let script = Path.Combine(repositoryRoot, "examples", "optimizer_sweep.fsx")
            let root = Directory.CreateTempSubdirectory("modeldsl-sweep-corpus-").FullName
            try
                let stale = Path.Combine(root, "modeldsl-sources.txt")
                File.WriteAllText(stale, "an old corpus")
                Sequencing.withEnvironment [ "MODELDSL_SWEEP_QUICK", "1"; "MODELDSL_CORPUS_DIR", root ] <| fun () ->
                    match SweepSource.load script with
                    | Ok _ -> ()
                    | Error failure -> failtestf "the example failed to load: %A" failure
                let text = File.ReadAllText stale
                Expect.notEqual text "an old corpus" "the stale corpus was replaced"
                Expect.stringContains text "public static class SpecJson" "by the sources"
            finally
                Directory.Delete(root, true)
        }
    ]
