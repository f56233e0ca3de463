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
                    Expect.isFalse cd.MaxEdgeExtensions.HasValue "no widening unless asked"
                | other -> failtestf "expected coordinate descent, got %A" other
                Expect.isTrue (b.Search :? GridSearch) "grid arm keeps its search"
                Expect.equal b.Base tiny "the arm's base is the experiment"
        }

        test "Sweep.widenEdges sets the edge extensions of every coordinate-descent arm" {
            let sweep =
                Sweep.compare "widened" [
                    tiny |> Sweep.coordinateDescent [ Axis.lr [ 1e-3; 2e-3; 4e-3 ] ] |> Sweep.label "a"
                    tiny |> Sweep.grid [ Axis.lr [ 1e-3 ] ] |> Sweep.label "b"
                ]
                |> Sweep.widenEdges 3
                |> Sweep.tieThreshold 1e-2
            match Sweep.toSpec sweep with
            | Error errors -> failtestf "%A" errors
            | Ok spec ->
                match spec.Arms[0].Search with
                | :? CoordinateDescentSearch as cd ->
                    Expect.equal cd.MaxEdgeExtensions (Nullable 3) "extensions kept through a later edit"
                    Expect.equal cd.TieThreshold 1e-2 "tie threshold"
                | other -> failtestf "expected coordinate descent, got %A" other
                Expect.isTrue (spec.Arms[1].Search :? GridSearch) "a grid arm is untouched"
        }

        test "the lr-sweep example loads as a valid sweep with widening" {
            let root = Directory.CreateTempSubdirectory("modeldsl-lr-sweep-").FullName
            try
                let spec =
                    Sequencing.withEnvironment [ "MODELDSL_CORPUS_DIR", root ] <| fun () ->
                        match SweepSource.load (Path.Combine(repositoryRoot, "examples", "lr_sweep.fsx")) with
                        | Ok spec -> spec
                        | Error failure -> failtestf "the example failed to load: %A" failure
                Expect.equal spec.Name "lr-sweep" "name"
                Expect.equal (spec.Arms |> Seq.map _.Label |> List.ofSeq) [ "adamW"; "lion" ] "arms"
                for arm in spec.Arms do
                    match arm.Search with
                    | :? CoordinateDescentSearch as cd -> Expect.equal cd.MaxEdgeExtensions (Nullable 2) $"{arm.Label} widens"
                    | other -> failtestf "expected coordinate descent, got %A" other
                Expect.isTrue (File.Exists(Path.Combine(root, "grammar-text-200k.txt"))) "the corpus is written where the environment says"
            finally
                Directory.Delete(root, true)
        }

        test "a misspelt axis path is a validation error naming the axis" {
            match tiny |> Sweep.grid [ Axis.path "training.optimiser.lr" [ 1e-3 ] ] |> Sweep.toSpec with
            | Ok _ -> failtest "a path to no field must not validate"
            | Error [ error ] ->
                Expect.equal error.Path "arms[0].axes[0].path" "path"
                Expect.stringContains error.Message "optimiser" "names the missing field"
            | Error errors -> failtestf "expected one error, got %A" errors
        }

        Sequencing.training <| test "the optimizer study runs end to end in quick mode, writes its verdicts and resumes from its run stores" {
            let script = Path.Combine(repositoryRoot, "examples", "optimizer_sweep.fsx")
            let root = Directory.CreateTempSubdirectory("modeldsl-optimizer-study-").FullName
            try
                match ExperimentSource.loadRunnable script with
                | Ok (ExperimentSource.Study study) ->
                    study (ModelDsl.Runtime.Studies.StudyContext(root, true))
                    let folder = Path.Combine(root, "optimizer-sweep-quick")
                    let report = File.ReadAllText(Path.Combine(folder, "report.md"))
                    Expect.stringContains report "## Verdicts" "the verdict table"
                    Expect.stringContains report "| Matrix-preconditioned optimizers lead at small scale |" "claim 1 row"
                    Expect.stringContains report "| The speedup over AdamW shrinks as the model grows |" "claim 2 row"
                    Expect.isTrue (File.Exists(Path.Combine(folder, "final-loss.png"))) "final-loss plot"
                    for size in [ "w8-d1"; "w16-d1" ] do
                        let sizeReport = File.ReadAllText(Path.Combine(folder, size, "report.md"))
                        for arm in [ "adamW"; "muon" ] do
                            for ratio in [ "0.02"; "0.04"; "0.08"; "0.16" ] do
                                Expect.stringContains sizeReport $"| {arm} | {ratio}x |" $"{size}: a row for {arm} at {ratio}x"
                    // The corpus is the generated grammar text, not source code.
                    let corpus = Directory.GetFiles(Path.Combine(folder, "corpus")) |> Array.exactlyOne
                    let text = File.ReadAllText corpus
                    Expect.isFalse (text.Contains "namespace" || text.Contains "{") "no source code in the corpus"
                    Expect.stringContains text ". " "sentences"
                    // Running again trains nothing new and rewrites the same report.
                    let runs () = Directory.GetFiles(folder, "summary.json", SearchOption.AllDirectories).Length
                    let before = runs ()
                    study (ModelDsl.Runtime.Studies.StudyContext(root, true))
                    Expect.equal (runs ()) before "no run was trained again"
                    Expect.equal (File.ReadAllText(Path.Combine(folder, "report.md"))) report "the same report"
                | other -> failtestf "the optimizer study should bind a study, got %A" other
            finally
                Directory.Delete(root, true)
        }
    ]
