/// A generated corpus of malformed run specs, fed through the CLI's entry point (`validate`, `run`,
/// `info`): mutations of valid spec JSONs (type changes, deleted fields, duplicated keys, huge and
/// negative sizes, NaN/Infinity, garbage bytes, truncation, wrong kind names, nested nulls). Every
/// rejection must be one message naming the file or a JSON path, with no stack trace and no run
/// directory; every mutant that validates must run.
module ModelDsl.Tests.MalformedSpecTests

open System
open System.IO
open System.Text
open System.Text.Json.Nodes
open Expecto
open Spectre.Console

let private repositoryRoot =
    let rec up (directory: DirectoryInfo) =
        if isNull directory then failwith "no repository root above the test assembly"
        elif File.Exists(Path.Combine(directory.FullName, "modeldsl.fsx")) then directory.FullName
        else up directory.Parent
    up (DirectoryInfo AppContext.BaseDirectory)

let private fixture name = Path.Combine(repositoryRoot, "tests", "ModelDsl.Tests", "fixtures", "lowering", name + ".json")

/// Valid specs of different shapes (dense, MoE, PaTH, gates, GQA, SOAP, a task mixture, every training option),
/// made cheap to run: a small evaluation and batch, so that a mutant that validates trains in well under a second.
let private seeds =
    [ "dense-default"; "moe-all-options"; "position-path-settings"; "gate-g1"; "model-llama-gqa"; "optimizer-soap"; "task-mixture"; "training-all" ]
    |> List.map (fun name ->
        let node = JsonNode.Parse(File.ReadAllText(fixture name)).AsObject()
        let training = node["training"].AsObject()
        training["globalBatch"] <- JsonValue.Create 4
        training["microBatch"] <- JsonValue.Create 4
        let eval = training["eval"].AsObject()
        eval["batches"] <- JsonValue.Create 1
        eval["problems"] <- JsonValue.Create 4
        eval["attentionStatistics"] <- JsonValue.Create false
        name, node)

/// A location in a JSON tree: property names and array indices from the root.
type private Step =
    | Key of string
    | Index of int

let rec private locations (prefix: Step list) (node: JsonNode) : Step list list =
    match node with
    | :? JsonObject as o -> [ for p in List.ofSeq o do
                                let here = prefix @ [ Key p.Key ]
                                yield here
                                if not (isNull p.Value) then yield! locations here p.Value ]
    | :? JsonArray as a -> [ for i in 0 .. a.Count - 1 do
                               let here = prefix @ [ Index i ]
                               yield here
                               if not (isNull a[i]) then yield! locations here a[i] ]
    | _ -> []

let private parentAndLast (root: JsonNode) (location: Step list) =
    let parent = location |> List.take (location.Length - 1) |> List.fold (fun (n: JsonNode) step ->
        match step with Key k -> n[k] | Index i -> n[i]) root
    parent, List.last location

let private replace (root: JsonNode) (location: Step list) (value: JsonNode) =
    match parentAndLast root location with
    | parent, Key k -> parent.AsObject()[k] <- value
    | parent, Index i -> parent.AsArray()[i] <- value

let private remove (root: JsonNode) (location: Step list) =
    match parentAndLast root location with
    | parent, Key k -> parent.AsObject().Remove k |> ignore
    | parent, Index i -> parent.AsArray().RemoveAt i

let private valueAt (root: JsonNode) (location: Step list) =
    match parentAndLast root location with
    | parent, Key k -> parent[k]
    | parent, Index i -> parent[i]

/// Replacement values by the kind of damage they do.
let private typeChanges: (unit -> JsonNode) list =
    [ (fun () -> (JsonValue.Create "oops" :> JsonNode)); (fun () -> (JsonValue.Create 7 :> JsonNode)); (fun () -> (JsonValue.Create true :> JsonNode))
      (fun () -> (JsonArray() :> JsonNode)); (fun () -> (JsonObject() :> JsonNode)); (fun () -> (JsonValue.Create 0.5 :> JsonNode)) ]
let private sizes: (unit -> JsonNode) list =
    [ (fun () -> (JsonValue.Create 2147483648L :> JsonNode)); (fun () -> (JsonValue.Create 99999999999999999999999.0 :> JsonNode)); (fun () -> (JsonValue.Create -1 :> JsonNode))
      (fun () -> (JsonValue.Create 0 :> JsonNode)); (fun () -> (JsonValue.Create 1000000000 :> JsonNode)); (fun () -> (JsonValue.Create 65536 :> JsonNode))
      (fun () -> (JsonValue.Create 1e-300 :> JsonNode)); (fun () -> (JsonValue.Create -2147483648L :> JsonNode)) ]
let private nonFinite: (unit -> JsonNode) list =
    [ (fun () -> (JsonValue.Create "NaN" :> JsonNode)); (fun () -> (JsonValue.Create "Infinity" :> JsonNode)); (fun () -> (JsonValue.Create "-Infinity" :> JsonNode)) ]
let private kinds =
    [ "bogus"; ""; "RMSNORM"; "adamW"; "rmsNorm"; "moe"; "path"; "sparseParity"; "fromRun"; "steps"; "warmupCosine" ]

type private Mutant = { Label: string; Bytes: byte[] }

let private serialize (node: JsonNode) = node.ToJsonString(Json.JsonSerializerOptions(WriteIndented = true))

/// One mutant of a seed, chosen by the random generator.
let private mutate (random: Random) (seedName: string) (seed: JsonObject) : Mutant =
    let root = seed.DeepClone()
    let all = locations [] root
    let pick (list: 'a list) = list[random.Next list.Length]
    let at = pick all
    let show (l: Step list) = "$" + (l |> List.map (function Key k -> "." + k | Index i -> $"[{i}]") |> String.concat "")
    let treeAt label (l: Step list) = { Label = $"{seedName}: {label} at {show l}"; Bytes = Encoding.UTF8.GetBytes(serialize root) }
    let tree label = treeAt label at
    let text = serialize seed
    match random.Next 11 with
    | 0 -> remove root at; tree "deleted"
    | 1 -> replace root at (null: JsonNode); tree "null"
    | 2 -> replace root at ((pick typeChanges) ()); tree "type change"
    | 3 ->
        let numbers = all |> List.filter (fun l -> match valueAt root l with :? JsonValue as v -> v.GetValueKind() = Text.Json.JsonValueKind.Number | _ -> false)
        let at = pick numbers
        replace root at ((pick sizes) ())
        treeAt "size" at
    | 4 ->
        let numbers = all |> List.filter (fun l -> match valueAt root l with :? JsonValue as v -> v.GetValueKind() = Text.Json.JsonValueKind.Number | _ -> false)
        let at = pick numbers
        replace root at ((pick nonFinite) ())
        treeAt "non-finite" at
    | 5 ->
        let kindsAt = all |> List.filter (fun l -> List.last l = Key "kind")
        let at = pick kindsAt
        replace root at (JsonValue.Create(pick kinds: string) :> JsonNode)
        treeAt "wrong kind" at
    | 6 ->
        // A key given twice, at the start of an object (text level: a JsonObject cannot hold it).
        let objects = all |> List.filter (fun l -> match valueAt root l with :? JsonObject as o -> o.Count > 0 | _ -> false)
        let at = pick objects
        let o = (valueAt root at).AsObject()
        let first = List.ofSeq o |> List.head
        let firstValue = if isNull first.Value then "null" else first.Value.ToJsonString()
        let duplicate = "\"" + first.Key + "\": " + firstValue + ", "
        let marker = "\"__duplicate_here__\""
        replace root at (JsonValue.Create "__duplicate_here__" :> JsonNode)
        let inner = o.ToJsonString()
        let withDuplicate = "{" + duplicate + inner.Substring 1
        { Label = $"{seedName}: duplicated key '{first.Key}' at {show at}"; Bytes = Encoding.UTF8.GetBytes((serialize root).Replace(marker, withDuplicate)) }
    | 7 ->
        let cut = random.Next text.Length
        { Label = $"{seedName}: truncated at {cut}"; Bytes = Encoding.UTF8.GetBytes(text.Substring(0, cut)) }
    | 8 ->
        let bytes = ResizeArray(Encoding.UTF8.GetBytes text)
        for _ in 1 .. 1 + random.Next 4 do bytes.Insert(random.Next bytes.Count, byte (random.Next 256))
        { Label = $"{seedName}: garbage bytes"; Bytes = bytes.ToArray() }
    | 9 ->
        // NaN and Infinity as bare tokens: not JSON.
        let token = pick [ "NaN"; "Infinity"; "-Infinity"; "1e999"; "-0"; "0x10" ]
        let numbers = Text.RegularExpressions.Regex.Matches(text, @"(?<=: )-?\d[\d.eE+-]*")
        let m = numbers[random.Next numbers.Count]
        { Label = $"{seedName}: bare {token}"; Bytes = Encoding.UTF8.GetBytes(text.Substring(0, m.Index) + token + text.Substring(m.Index + m.Length)) }
    | _ ->
        // Nested nulls: a whole section's children set to null.
        let objects = all |> List.filter (fun l -> match valueAt root l with :? JsonObject -> true | _ -> false)
        let at = pick objects
        let o = (valueAt root at).AsObject()
        for key in [ for p in o -> p.Key ] do o[key] <- (null: JsonNode)
        treeAt "nested nulls" at

/// Runs the CLI's entry point in-process (wide console, so that paths are not wrapped); an exception
/// escaping the entry point is a crash.
let private cli (args: string list) =
    let output = new StringWriter()
    let previous = AnsiConsole.Console
    let console = AnsiConsole.Create(AnsiConsoleSettings(Out = AnsiConsoleOutput(output), Ansi = AnsiSupport.No))
    console.Profile.Width <- 4000
    AnsiConsole.Console <- console
    let previousError = Console.Error
    let errors = new StringWriter()
    Console.SetError errors
    try
        try
            let code = ModelDsl.Cli.Program.main (Array.ofList args)
            Ok (code, output.ToString() + errors.ToString())
        with e -> Error e
    finally
        AnsiConsole.Console <- previous
        Console.SetError previousError

let private looksLikeTrace (output: string) =
    output.Contains "   at " || output.Contains "System." || output.Contains "Exception" || output.Contains "internal error"

/// Valid mutants whose one step stays small (a mutated size can make a valid spec that runs for hours:
/// a billion evaluation problems) are run; the others are validated and described only.
let private cheapToRun (s: ModelDsl.Core.ExperimentSpec) =
    let t = s.Training
    t.GlobalBatch / t.MicroBatch <= 16 && t.MicroBatch <= 64 && t.Eval.Problems <= 256 && t.Eval.Batches <= 16
    && s.Task.SequenceLength() <= 2048 && s.Task.EvalSequenceLength() <= 2048
    && ModelDsl.Core.Model.ModelInventory.Of(s.Model).ParameterCount <= 5_000_000L

type private Tally =
    { mutable Tried: int; mutable Rejected: int; mutable Valid: int; mutable Ran: int
      mutable Traces: string list; mutable Crashes: string list; mutable Unnamed: string list; mutable RunDirectories: string list
      mutable NotRunnable: string list }

[<Tests>]
let tests =
    testSequenced <| testList "malformed specs" [
        test "every mutant is rejected with a named message and no trace, or validates and runs" {
            let folder = Directory.CreateTempSubdirectory("modeldsl-malformed-").FullName
            try
                let random = Random 20261130
                let tally = { Tried = 0; Rejected = 0; Valid = 0; Ran = 0; Traces = []; Crashes = []; Unnamed = []; RunDirectories = []; NotRunnable = [] }
                let perSeed = 60
                let maxRuns = 8
                for seedName, seed in seeds do
                    for i in 1 .. perSeed do
                        let mutant = mutate random seedName seed
                        let specPath = Path.Combine(folder, $"{seedName}-{i}.json")
                        File.WriteAllBytes(specPath, mutant.Bytes)
                        let runs = Path.Combine(folder, $"runs-{seedName}-{i}")
                        tally.Tried <- tally.Tried + 1
                        let check command (result: Result<int * string, exn>) =
                            match result with
                            | Error e -> tally.Crashes <- $"{mutant.Label} ({command}): {e.GetType().Name}: {e.Message}" :: tally.Crashes; None
                            | Ok (code, output) ->
                                if looksLikeTrace output then tally.Traces <- $"{mutant.Label} ({command}): {output}" :: tally.Traces
                                Some (code, output)
                        match check "validate" (cli [ "validate"; specPath ]) with
                        | None -> ()
                        | Some (0, _) ->
                            tally.Valid <- tally.Valid + 1
                            check "info" (cli [ "info"; specPath ]) |> Option.iter (fun (code, output) ->
                                if code <> 0 then tally.NotRunnable <- $"{mutant.Label}: info exited {code}: {output}" :: tally.NotRunnable)
                            if tally.Ran < maxRuns && cheapToRun (ModelDsl.Core.Json.SpecJson.LoadExperiment specPath) then
                                tally.Ran <- tally.Ran + 1
                                match check "run" (cli [ "run"; specPath; "--runs-dir"; runs; "--steps"; "1"; "--threads"; "1" ]) with
                                | Some (code, output) when code <> 0 && code <> ModelDsl.Cli.Train.divergedExitCode ->
                                    tally.NotRunnable <- $"{mutant.Label}: validated but run exited {code}: {output}" :: tally.NotRunnable
                                | _ -> ()
                        | Some (code, output) ->
                            tally.Rejected <- tally.Rejected + 1
                            // Exit 1 names the file; exit 2 lists the validation errors with their JSON paths.
                            let flat = Text.RegularExpressions.Regex.Replace(output, @"\s+", " ")
                            let named = (code = 1 && output.Contains specPath) || (code = 2 && flat.Contains "validation error")
                            if not named then tally.Unnamed <- $"{mutant.Label} (validate exit {code}): {output}" :: tally.Unnamed
                            match check "run" (cli [ "run"; specPath; "--runs-dir"; runs; "--steps"; "1" ]) with
                            | Some (runCode, runOutput) when runCode = 0 ->
                                tally.NotRunnable <- $"{mutant.Label}: validate refused it (exit {code}) but run accepted it: {runOutput}" :: tally.NotRunnable
                            | _ -> ()
                            if Directory.Exists runs && not (Seq.isEmpty (Directory.EnumerateFileSystemEntries runs)) then
                                tally.RunDirectories <- $"{mutant.Label}: {runs}" :: tally.RunDirectories
                printfn "malformed specs: %d mutants tried, %d rejected, %d valid (%d of them run); %d stack traces, %d crashes"
                    tally.Tried tally.Rejected tally.Valid tally.Ran tally.Traces.Length tally.Crashes.Length
                let show (items: string list) = items |> List.rev |> List.truncate 5 |> String.concat "\n---\n"
                printfn "crashes %d, traces %d, unnamed %d, run directories %d, not runnable %d"
                    tally.Crashes.Length tally.Traces.Length tally.Unnamed.Length tally.RunDirectories.Length tally.NotRunnable.Length
                Expect.isEmpty tally.Crashes $"exceptions escaped the entry point:\n{show tally.Crashes}"
                Expect.isEmpty tally.Traces $"stack traces or exception names in the output:\n{show tally.Traces}"
                Expect.isEmpty tally.Unnamed $"rejections that name neither the file nor a JSON path:\n{show tally.Unnamed}"
                Expect.isEmpty tally.RunDirectories $"run directories made for rejected specs:\n{show tally.RunDirectories}"
                Expect.isEmpty tally.NotRunnable $"specs that validate but do not run:\n{show tally.NotRunnable}"
                Expect.isGreaterThan tally.Rejected (tally.Tried / 2) "most mutants are rejected"
                Expect.isGreaterThan tally.Ran 0 "some mutants validate and run"
            finally
                Directory.Delete(folder, true)
        }
    ]
