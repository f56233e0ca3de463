/// Study scripts (`study : StudyContext -> unit`): detection by the host and the examples' quick mode.
module ModelDsl.Tests.StudyScriptTests

open System.IO
open Expecto
open ModelDsl.Cli
open ModelDsl.Runtime.Studies

let private repositoryRoot =
    let rec up (directory: DirectoryInfo) =
        if isNull directory then failwith "no repository root above the test assembly"
        elif File.Exists(Path.Combine(directory.FullName, "modeldsl.fsx")) then directory.FullName
        else up directory.Parent
    up (DirectoryInfo System.AppContext.BaseDirectory)

let private withFolder (action: string -> unit) =
    let folder = Directory.CreateTempSubdirectory("modeldsl-study-").FullName
    try action folder finally Directory.Delete(folder, true)

/// Runs an example's quick mode and returns its report's text, checking the plots it links exist.
let private runQuick (script: string) (folder: string) =
    let path = Path.Combine(repositoryRoot, "examples", script)
    match ExperimentSource.loadRunnable path with
    | Ok (ExperimentSource.Study study) ->
        study (StudyContext(folder, true))
        let report = Directory.GetFiles(folder, "report.md", SearchOption.AllDirectories) |> Array.exactlyOne
        let text = File.ReadAllText report
        let images = System.Text.RegularExpressions.Regex.Matches(text, @"\]\(([^)]+\.png)\)") |> Seq.map (fun m -> m.Groups[1].Value) |> List.ofSeq
        Expect.isNonEmpty images "the report links plots"
        for image in images do
            Expect.isGreaterThan (FileInfo(Path.Combine(Path.GetDirectoryName report, image)).Length) 1000L $"{image} is a written PNG"
        text
    | other -> failtestf "%s should bind a study, got %A" script other

[<Tests>]
let tests =
    Sequencing.training <| testList "study scripts" [
        test "a study is found as a method or a function value, and is not an experiment" {
            for text in [ "let study (context: ModelDsl.Runtime.Studies.StudyContext) = printfn \"%s\" context.RunsRoot\n"
                          "let study : ModelDsl.Runtime.Studies.StudyContext -> unit = fun _ -> ()\n" ] do
                withFolder <| fun folder ->
                    let path = Path.Combine(folder, "s.fsx")
                    File.WriteAllText(path, text)
                    match ExperimentSource.loadRunnable path with
                    | Ok (ExperimentSource.Study _) -> ()
                    | other -> failtestf "expected a study, got %A" other
                    match ExperimentSource.load path with
                    | Error (ExperimentSource.Unreadable message) -> Expect.stringContains message "study" "load names the study"
                    | other -> failtestf "expected an error from load, got %A" other
        }

        test "study arguments are read, and unknown ones named" {
            let context = StudyContext.FromArguments [ "x.fsx"; "--quick"; "--runs-dir"; "out"; "--threads"; "1" ]
            Expect.equal context (StudyContext("out", true, System.Nullable 1)) "parsed"
            Expect.throwsT<System.ArgumentException> (fun () -> StudyContext.FromArguments [ "--fast" ] |> ignore) "unknown argument"
        }

        test "cot_parity --quick writes its report" {
            withFolder <| fun folder ->
                let text = runQuick "cot_parity.fsx" folder
                Expect.stringContains text "| k | N* with CoT (seed 1) | N* without CoT (seed 1) |" "sample-efficiency table"
                Expect.stringContains text "| k | CoT | seed | N* | steps to 95% at N* |" "per (k, CoT, seed) table"
                for claim in 1 .. 3 do
                    Expect.stringContains text (sprintf "**Claim %d (" claim) "every claim is assessed"
                Expect.stringContains text "Wall-clock: " "wall-clock reported"
                // The quick mode keeps its ledger with its runs, never in the repository.
                Expect.isNonEmpty (Directory.GetFiles(folder, "ledger-*.jsonl", SearchOption.AllDirectories)) "a ledger in the run folder"
        }

        test "gated_attention --quick writes its report" {
            withFolder <| fun folder ->
                let text = runQuick "gated_attention.fsx" folder
                Expect.stringContains text "| arm | LR | seed | parameters | final held-out loss | sink mass" "results table"
                Expect.stringContains text "Claim 1" "claims are assessed"
                // Quick mode keeps its ledger in its run folder: one line per run (3 arms x 2 LRs x 1 seed), distinct keys.
                let ledger = Directory.GetFiles(folder, "ledger.jsonl", SearchOption.AllDirectories) |> Array.exactlyOne
                let lines = File.ReadAllLines ledger |> Array.filter (fun l -> l.Trim() <> "")
                Expect.equal lines.Length 6 "a ledger line per run"
                let keys = [ for l in lines -> use doc = System.Text.Json.JsonDocument.Parse l in doc.RootElement.GetProperty("key").GetString() ]
                Expect.equal (List.distinct keys).Length 6 "distinct keys"
                Expect.stringContains text "Cost: 6 runs" "throughput from the ledger"
        }

        test "moe_global_balance --quick writes its report" {
            withFolder <| fun folder ->
                let text = runQuick "moe_global_balance.fsx" folder
                Expect.stringContains text "| coefficient | scope | seed | train loss (last 20%) |" "per-run table"
                Expect.stringContains text "Claim (global-batch balancing" "the claim is assessed"
                Expect.stringContains text "routing-GlobalBatch-c0.01-blocks0.png" "heat-map linked"
        }

        test "task_generalization --quick writes its report" {
            withFolder <| fun folder ->
                let text = runQuick "task_generalization.fsx" folder
                Expect.stringContains text "| training tasks | held-out accuracy with CoT" "held-out accuracy table"
                Expect.stringContains text "Claim 1" "claims are assessed"
        }

        test "svco_minimal_contrast --quick writes its report" {
            withFolder <| fun folder ->
                let text = runQuick "svco_minimal_contrast.fsx" folder
                for arm in [ "| SFT (reference) |"; "| continued SFT |"; "| text DPO |"; "| image DPO |"; "| S-VCO |" ] do
                    Expect.stringContains text arm "a row per arm"
                Expect.stringContains text "sample-pairs.png" "the grid of sample pairs is linked"
                for claim in 1 .. 5 do
                    Expect.stringContains text (sprintf "Claim %d (" claim) "every claim is assessed"
                // The mean table: paired accuracies and against-prior accuracy are fractions, the losses and reliance finite.
                let meanTable =
                    text.Split('\n')
                    |> Array.skipWhile (fun line -> not (line.StartsWith "Mean over seeds"))
                    |> Array.filter (fun line -> line.StartsWith "| ") |> Array.skip 1 |> Array.takeWhile (fun line -> line.StartsWith "| ")
                Expect.equal meanTable.Length 5 "the reference and four arms in the mean table"
                for line in meanTable do
                    let cells = line.Trim('|', ' ').Split('|') |> Array.map (fun c -> c.Trim())
                    let number (i: int) = System.Double.Parse(cells[i], System.Globalization.CultureInfo.InvariantCulture)
                    for i in 1 .. 6 do
                        if cells[i] <> "-" then Expect.isTrue (number i >= 0.0 && number i <= 1.0) $"{cells[0]}: column {i} = {cells[i]} is a fraction"
                    for i in 7 .. 13 do
                        Expect.isTrue (System.Double.IsFinite(number i)) $"{cells[0]}: column {i} = {cells[i]} is finite"
                    Expect.isTrue (number 12 > 0.0) $"{cells[0]}: the text-only loss is positive"
        }

        test "questa_hints --quick writes its report" {
            withFolder <| fun folder ->
                let text = runQuick "questa_hints.fsx" folder
                let lines = text.Split('\n')
                /// The rows of the mean pass@k table of one difficulty: arm name and pass@1, 2, 4, .., 32.
                let table (difficulty: string) =
                    let header = lines |> Array.findIndex (fun l -> l.StartsWith $"| arm | {difficulty} pass@1 | {difficulty} pass@2 |")
                    lines[header + 2 ..] |> Array.takeWhile (fun l -> l.StartsWith "| ")
                    |> Array.map (fun l -> let cells = l.Trim().Trim('|').Split('|') |> Array.map (fun c -> c.Trim()) in cells[0], cells[1..])
                for difficulty in [ "hard"; "easy" ] do
                    let rows = table difficulty
                    Expect.equal (rows |> Array.map fst) [| "no RL"; "GRPO hard, no hints"; "GRPO hard + QuestA hints"; "GRPO easy only" |] $"every arm in the {difficulty} table"
                    for arm, cells in rows do
                        Expect.equal cells.Length 6 $"{arm}: pass@k at k = 1, 2, 4, 8, 16, 32"
                        let values = cells |> Array.map (fun c -> System.Double.Parse(c, System.Globalization.CultureInfo.InvariantCulture))
                        for v in values do Expect.isTrue (System.Double.IsFinite v && v >= 0.0 && v <= 1.0) $"{arm} {difficulty}: pass@k {v} in [0, 1]"
                        for a, b in Array.pairwise values do Expect.isLessThanOrEqual a (b + 1e-12) $"{arm} {difficulty}: pass@k is monotone in k ({values})"
                // Metrics of the RL steps: entropy and zero-std fractions are numbers, not "-" (NaN).
                let dynamics = lines |> Array.findIndex (fun l -> l.StartsWith "| arm | zero-std groups, first 25% of steps |")
                let rlRows = lines[dynamics + 2 ..] |> Array.takeWhile (fun l -> l.StartsWith "| ")
                Expect.equal rlRows.Length 3 "one row per RL arm"
                for row in rlRows do
                    for cell in (row.Trim().Trim('|').Split('|') |> Array.skip 1) do
                        Expect.isTrue (System.Double.IsFinite(System.Double.Parse(cell.Trim(), System.Globalization.CultureInfo.InvariantCulture))) $"finite metric in {row}"
                Expect.stringContains text "Claim 3 (hints raise un-hinted hard pass@1" "claims are assessed"
        }

        test "path_state_tracking --quick writes its report" {
            withFolder <| fun folder ->
                let text = runQuick "path_state_tracking.fsx" folder
                for encoding in [ "| PaTH |"; "| RoPE |"; "| NoPE |" ] do
                    Expect.stringContains text encoding "a row per position encoding"
                Expect.stringContains text "accuracy @ 12" "accuracy beyond the training length"
                Expect.stringContains text "Claim (PaTH" "the claim is assessed"
        }

        test "wise_ft_reasoning --quick writes its report" {
            withFolder <| fun folder ->
                let text = runQuick "wise_ft_reasoning.fsx" folder
                Expect.stringContains text "| seed | step | pass@1 | pass@2 | pass@4 | mean rho | Var rho | distinct answers |" "trajectory table"
                Expect.stringContains text "| seed | alpha | pass@1 | pass@2 | pass@4 | maj@4 | Best@4 | mean rho | Var rho | distinct answers |" "alpha sweep table"
                Expect.stringContains text "| claim | per-seed evidence | mean ± sd | verdict |" "verdict table"
                for seed in [ 1; 2 ] do
                    Expect.stringContains text (sprintf "| %d | 0.5 |" seed) $"seed {seed} has the alpha 0.5 mix"
                Expect.stringContains text "![histogram of rho" "rho histograms are linked"
        }

        test "overtraining --quick writes its report and resumes" {
            withFolder <| fun folder ->
                let text = runQuick "overtraining.fsx" folder
                for schedule in [ "constant"; "wsd-short"; "wsd-long" ] do
                    for budget in [ 1; 2 ] do
                        Expect.stringContains text (sprintf "| %s | %d |" schedule budget) $"a row for {schedule} at {budget} units"
                Expect.stringContains text "| claim | schedule | per-seed evidence | verdict |" "verdict table"
                let points = Directory.GetFiles(folder, "point.txt", SearchOption.AllDirectories)
                Expect.equal points.Length 6 "3 schedules x 2 budgets measured"
                // A second invocation on the same folder reads every measurement back and writes the same tables.
                let stamps = points |> Array.map File.GetLastWriteTimeUtc
                let again = runQuick "overtraining.fsx" folder
                Expect.equal (points |> Array.map File.GetLastWriteTimeUtc) stamps "measurements are not repeated"
                let tables (t: string) = t.Split('\n') |> Array.filter (fun line -> line.StartsWith "|") |> Array.filter (fun l -> not (l.Contains "Wall time"))
                Expect.equal (tables again) (tables text) "the resumed report has the same tables"
        }
    ]
