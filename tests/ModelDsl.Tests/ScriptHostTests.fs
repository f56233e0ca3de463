/// Experiment scripts evaluated in-process by the CLI's compiler-service host.
module ModelDsl.Tests.ScriptHostTests

open System.IO
open Expecto
open ModelDsl
open ModelDsl.Cli

let private repositoryRoot =
    let rec up (directory: DirectoryInfo) =
        if isNull directory then failwith "no repository root above the test assembly"
        elif File.Exists(Path.Combine(directory.FullName, "modeldsl.fsx")) then directory.FullName
        else up directory.Parent
    up (DirectoryInfo System.AppContext.BaseDirectory)

/// Loads a script written to a temporary folder (removed afterwards) and checks the outcome.
let private withScript (text: string) (check: string -> Result<ModelDsl.Core.ExperimentSpec list, ExperimentSource.LoadFailure> -> unit) =
    let folder = Directory.CreateTempSubdirectory("modeldsl-script-").FullName
    try
        let path = Path.Combine(folder, "experiment.fsx")
        File.WriteAllText(path, text)
        check path (ExperimentSource.load path)
    finally
        Directory.Delete(folder, true)

[<Tests>]
let tests =
    testList "script hosting" [
        test "the quickstart (which #loads the prelude) loads under the host and validates" {
            let path = Path.Combine(repositoryRoot, "examples", "quickstart.fsx")
            match ExperimentSource.load path with
            | Error failure -> failtestf "quickstart failed to load: %A" failure
            | Ok [ spec ] ->
                Expect.equal spec.Name "quickstart-parity" "name"
                Expect.isEmpty (List.ofSeq (spec.Validate())) "the quickstart validates"
                match spec.Task with
                | :? ModelDsl.Core.Tasks.SparseParity as parity -> Expect.isTrue parity.ChainOfThought "parity with chain of thought"
                | other -> failtestf "expected sparse parity, got %A" other
            | Ok specs -> failtestf "expected one experiment, got %d" specs.Length
        }

        test "a list of experiments needs no #r or open" {
            withScript "let small = Experiment.pretrain \"a\" (Model.llama (vocab = 8, width = 16, depth = 1, heads = 2))\n\
                     let experiments = [ small; small |> Experiment.name \"b\" ]\n" <| fun _ result ->
                match result with
                | Ok specs -> Expect.equal (specs |> List.map _.Name) [ "a"; "b" ] "names"
                | Error failure -> failtestf "%A" failure
        }

        test "a script may bind an IR record" {
            withScript "let experiment = ModelDsl.Core.ExperimentSpec(Name = \"ir\", Model = ModelDsl.Core.Model.ModelSpec.Llama(8, 16, 1, 2))\n" <| fun _ result ->
                match result with
                | Ok [ spec ] -> Expect.equal spec (ModelDsl.Core.ExperimentSpec(Name = "ir", Model = ModelDsl.Core.Model.ModelSpec.Llama(8, 16, 1, 2))) "spec"
                | other -> failtestf "%A" other
        }

        test "a compile error names the file, line and the compiler's message" {
            withScript "let model = Model.llama (vocab = 8, width = 16, depth = 1, heads = 2)\nlet experiment = Experiment.pretrain \"x\" modle\n" <| fun path result ->
                match result with
                | Error (ExperimentSource.ScriptFailed [ error ]) ->
                    Expect.equal (error.File, error.Line) (path, 2) "location"
                    Expect.stringContains error.Message "modle" "message"
                | other -> failtestf "expected one compile error, got %A" other
        }

        test "an exception while the script runs names the line that threw" {
            withScript "let model = Model.llama (vocab = 8, width = 16, depth = 2, heads = 2)\n\nlet experiment = Experiment.pretrain \"x\" (Model.layer 5 id model)\n" <| fun path result ->
                match result with
                | Error (ExperimentSource.ScriptFailed [ error ]) ->
                    Expect.equal (error.File, error.Line) (path, 3) "location"
                    Expect.stringContains error.Message "layer 5 does not exist" "message"
                | other -> failtestf "expected the exception, got %A" other
        }

        test "validation errors come back per experiment with their paths" {
            withScript "let experiment = Experiment.pretrain \"bad\" (Model.llama (vocab = 8, width = 16, depth = 1, heads = 2)) |> Experiment.threads 0\n" <| fun _ result ->
                match result with
                | Error (ExperimentSource.Invalid [ "bad", [ error ] ]) -> Expect.equal error.Path "training.threads" "path"
                | other -> failtestf "expected one validation error, got %A" other
        }
    ]

[<Tests>]
let overrideTests =
    testList "command-line overrides" [
        test "overrides replace budget, device and threads and nothing else" {
            let original = Experiment.pretrain "o" (Model.llama (vocab = 8, width = 16, depth = 1, heads = 2))
            let changed = Overrides.apply { Steps = Some 10L; Device = Some "cuda:0"; Threads = Some 3 } original
            // The expected spec: the original's JSON with exactly those three fields edited by hand.
            let json = System.Text.Json.Nodes.JsonNode.Parse(ModelDsl.Core.Json.SpecJson.Serialize original)
            let training = json["training"]
            training["budget"] <- System.Text.Json.Nodes.JsonNode.Parse """{ "kind": "steps", "count": 10 }"""
            training["device"] <- System.Text.Json.Nodes.JsonValue.Create "cuda:0"
            training["threads"] <- System.Text.Json.Nodes.JsonValue.Create 3
            let expected = ModelDsl.Core.Json.SpecJson.Deserialize<ModelDsl.Core.ExperimentSpec>(json.ToJsonString())
            Expect.equal changed expected "exactly budget, device and threads changed"
            Expect.notEqual changed.Training.Budget original.Training.Budget "the budget really changed"
            let onlySteps = Overrides.apply { Overrides.none with Steps = Some 4L } original
            Expect.equal onlySteps.Training.Device original.Training.Device "an absent override keeps the spec's device"
            Expect.equal onlySteps.Training.Threads original.Training.Threads "and its threads"
            Expect.equal (Overrides.apply Overrides.none original) original "no overrides, same spec"
        }
    ]
