// CoT makes parity learnable (arXiv 2410.05459, PAPERS.md §10): the smallest training-set size N at
// which a small transformer reaches 95% held-out accuracy on Parity(n, k), with and without chain of
// thought, as k grows; and the normalised attention entropy of each head over training.
// Expected: N roughly flat in k with CoT, exploding without it; entropy drops when accuracy jumps.
//   ./modeldsl run examples/cot_parity.fsx [--quick] [--runs-dir DIR] [--threads N]
//   dotnet fsi examples/cot_parity.fsx [--quick]
// Writes <runs>/cot-parity-<time>/report.md with tables and PNG plots. The full mode records every finished
// run in docs/studies/cot-parity/ledger-stop95-patience10-gain1.jsonl and skips recorded runs, so an interrupted
// study resumes with the same command; COT_PARITY_REPORT_ONLY=1 writes the report from the ledger alone.
#load "../modeldsl.fsx"

open System.IO
open ModelDsl.Runtime.Studies

type Settings =
    { Bits: int
      Secrets: int list
      /// Training-set sizes tried, as powers of two, smallest first.
      SizeExponents: int list
      /// Without CoT only these k are run (the control at the sizes it can afford).
      DirectSecrets: int list
      /// Step cap of a run; runs end earlier at the target or when held-out accuracy stalls.
      Cap: int
      EvalEvery: int
      /// Evaluations without a gain of more than MinGain in best held-out accuracy before a run stops.
      Patience: int
      MinGain: float
      Problems: int
      Width: int
      Depth: int
      Seeds: int list }

// Each run trains to convergence: it stops at 95% held-out accuracy, or when the best accuracy has not
// improved by more than 1 point in the last Patience evaluations, or at the cap (which the pilots in
// docs/studies/cot-parity/pilots.md size well above the steps any converging run needed).
let full = { Bits = 20; Secrets = [ 2; 3; 4 ]; SizeExponents = [ 6; 8; 10; 12 ]; DirectSecrets = [ 2; 3; 4 ]; Cap = 6000; EvalEvery = 100; Patience = 10; MinGain = 0.01; Problems = 256; Width = 64; Depth = 2; Seeds = [ 1; 2; 3 ] }
let quick = { Bits = 8; Secrets = [ 2; 3 ]; SizeExponents = [ 6 ]; DirectSecrets = [ 2 ]; Cap = 40; EvalEvery = 20; Patience = 2; MinGain = 0.01; Problems = 64; Width = 32; Depth = 1; Seeds = [ 1 ] }

let target = 0.95

let parity (s: Settings) (threads: int option) k cot exponent seed =
    let name = sprintf "parity-n%d-k%d-%s-N%d-seed%d" s.Bits k (if cot then "cot" else "direct") (1 <<< exponent) seed
    Experiment.pretrain name (Model.llama (vocab = 4, width = s.Width, depth = s.Depth, heads = 4))
    |> Experiment.task (Tasks.sparseParity (bits = s.Bits, secret = k, cot = cot, trainingExamples = (1L <<< exponent)))
    |> Experiment.optimizer (AdamW(Lr = 3e-3, WeightDecay = 0.01))
    |> Experiment.schedule (Schedule.constant (warmup = min 0.05 (150.0 / float s.Cap))) // 150 warm-up steps (5% of the pilots' 3000), whatever the cap
    |> Experiment.budget (Budget.steps s.Cap)
    |> Experiment.batch (globalBatch = 64)
    |> Experiment.eval (every = s.EvalEvery, batches = 2, problems = s.Problems)
    |> Experiment.checkpoint (every = 0, keep = 1)
    |> Experiment.seed seed
    |> Experiment.threads (defaultArg threads 2)
    |> Experiment.toSpecOrFail

/// Stop a run once its held-out accuracy has stalled (PAPERS.md §10 trains to convergence; a fixed step
/// count favours small k, whose runs converge in fewer steps).
let stalled (s: Settings) (evals: System.Collections.Generic.IReadOnlyList<StudyEval>) =
    ClaimRules.Stalled([| for e in evals -> e.Accuracy |], s.Patience, s.MinGain)

/// Attention entropy is measured on this many validation sequences at every evaluation (part of a run's ledger key).
let entropyRows = 64

/// The outcome of the N* search for one (seed, k, CoT).
type Outcome =
    /// N* = 2^exponent.
    | Reached of exponent: int
    /// No size on the grid reached the target.
    | NotReached
    /// Not searched: a smaller k failed at every size.
    | NotRun
    /// The search is unfinished (runs not yet recorded): N* is at least 2^exponent.
    | Pending of exponent: int

/// One run of the study: its grid point, its result, and its wall-clock time when known.
type Done = { Seed: int; K: int; Cot: bool; Exponent: int; Run: StudyRun; Seconds: float option }

/// Per-run wall-clock times, one tab-separated line per trained run (key, name, steps, seconds, threads):
/// the ledger keeps results but not time, and a resumed study trains only part of its runs.
let readTimes (path: string) =
    if not (File.Exists path) then Map.empty
    else
        File.ReadAllLines path
        |> Array.choose (fun line ->
            match line.Split('\t') with
            | [| key; _; _; seconds; _ |] ->
                match System.Double.TryParse(seconds, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture) with
                | true, v -> Some (key, v)
                | _ -> None
            | _ -> None)
        |> Map.ofArray

let study (context: StudyContext) =
    let s = if context.Quick then quick else full
    let folder = context.CreateFolder "cot-parity"
    let threads = Option.ofNullable context.Threads
    // COT_PARITY_REPORT_ONLY=1: no training; the report is written from the ledger, unrecorded runs pending.
    let reportOnly = System.Environment.GetEnvironmentVariable "COT_PARITY_REPORT_ONLY" = "1"
    // The full study's finished runs are kept in the repository, so it resumes on any machine from the
    // last recorded run. The ledger key cannot hash the stop rule (a function), hence its name in the file name.
    let records = if context.Quick then folder else Path.Combine(__SOURCE_DIRECTORY__, "..", "docs", "studies", "cot-parity")
    let ruleName = sprintf "stop%.0f-patience%d-gain%.0f" (100.0 * target) s.Patience (100.0 * s.MinGain)
    let ledger = StudyLedger(Path.Combine(records, sprintf "ledger-%s.jsonl" ruleName))
    let timesPath = Path.Combine(records, sprintf "wallclock-%s.tsv" ruleName)
    let times = readTimes timesPath
    let clock = System.Diagnostics.Stopwatch.StartNew()
    let secretsOf cot = if cot then s.Secrets else s.DirectSecrets
    let mutable trainedHere = 0
    /// The run at one grid point: from the ledger, or trained (and recorded) unless only reporting.
    let runOf seed k cot exponent =
        let spec = parity s threads k cot exponent seed
        let key = StudyLedger.KeyOf(spec, System.Nullable target, entropyRows)
        match ledger.Find key with
        | null when reportOnly -> None
        | null ->
            let watch = System.Diagnostics.Stopwatch.StartNew()
            let run = StudyTrainer.Train(spec, folder, target, entropyRows = entropyRows, stopWhen = stalled s, ledger = ledger)
            let seconds = watch.Elapsed.TotalSeconds
            File.AppendAllText(timesPath, sprintf "%s\t%s\t%d\t%.1f\t%d\n" key run.Name run.Steps seconds (defaultArg threads 2))
            trainedHere <- trainedHere + 1
            Some (run, Some seconds)
        | recorded -> Some (recorded, Map.tryFind key times)
    // Per seed and (k, CoT) the sizes are tried from the smallest up; the first that reaches the target is
    // N*. Larger k is at least as hard (its N* is not smaller), so its search starts at the previous k's
    // N* in that seed, and a k whose search failed at every size ends the search for larger k ("not run").
    // CoT runs of every seed come first: they decide claim 1, the study's main claim.
    let mutable runs : Done list = []
    let mutable outcomes : Map<int * int * bool, Outcome> = Map.empty
    for cot in [ true; false ] do
        for seed in s.Seeds do
            let mutable from = Some (List.head s.SizeExponents) // None once a k failed at every size
            let mutable pending = false                        // an earlier k's search is unfinished
            for k in secretsOf cot do
                let outcome =
                    match from with
                    | None -> NotRun
                    | Some first when pending -> Pending first
                    | Some first ->
                        let mutable result = NotReached
                        let mutable settled = false
                        for exponent in s.SizeExponents |> List.filter (fun e -> e >= first) do
                            if not settled then
                                match runOf seed k cot exponent with
                                | None ->
                                    result <- Pending exponent
                                    settled <- true
                                | Some (run, seconds) ->
                                    runs <- runs @ [ { Seed = seed; K = k; Cot = cot; Exponent = exponent; Run = run; Seconds = seconds } ]
                                    printfn "seed %d k=%d cot=%b N=2^%d: best accuracy %.3f after %d steps%s (%.0f s so far)"
                                        seed k cot exponent run.BestAccuracy run.Steps
                                        (match seconds with Some t -> sprintf ", %.0f s" t | None -> "") clock.Elapsed.TotalSeconds
                                    if run.BestAccuracy >= target then
                                        result <- Reached exponent
                                        settled <- true
                        result
                outcomes <- outcomes |> Map.add (seed, k, cot) outcome
                match outcome with
                | Reached e -> from <- Some e
                | NotReached | NotRun -> from <- None
                | Pending e ->
                    from <- Some e
                    pending <- true
    let outcome seed cot k = outcomes |> Map.tryFind (seed, k, cot) |> Option.defaultValue NotRun
    let exponentOf seed cot k = match outcome seed cot k with Reached e -> Some e | _ -> None
    let largest = List.last s.SizeExponents
    let show seed cot k =
        if not (List.contains k (secretsOf cot)) then "not run"
        else
            match outcome seed cot k with
            | Reached e -> sprintf "2^%d" e
            | NotReached -> sprintf "> 2^%d" largest
            | NotRun -> sprintf "> 2^%d (not run: k = %d failed at every size)" largest (k - 1)
            | Pending e -> sprintf "pending (>= 2^%d)" e
    let missing = outcomes |> Map.filter (fun _ o -> match o with Pending _ -> true | _ -> false) |> Map.count
    let report = StudyReport(folder, "CoT makes parity learnable: sample efficiency with and without chain of thought")
    report.Paragraph(
        "Claim (arXiv 2410.05459, PAPERS.md §10): a transformer learns k-sparse parity of n bits from a number of examples N* " +
        "that stays roughly flat in k when it is trained with chain of thought (the running XOR of the secret bits written out), " +
        "while without CoT it needs far more data (N* exploding with k).") |> ignore
    report.Paragraph(
        sprintf "Setting: Parity(n = %d, k) with a fixed training set of N examples; %d-layer Llama, width %d, 4 heads; AdamW lr 3e-3 (weight decay 0.01, linear warm-up over min(5%% of the cap, 150 steps), then constant), batch 64, evaluation every %d steps on %d held-out inputs (outside the training set). Each run trains to convergence: it stops at %.0f%% held-out accuracy, when its best accuracy has gained no more than %.0f point in the last %d evaluations (%d steps), or at the cap of %d steps. N* = smallest N whose best held-out accuracy reaches %.0f%% (sizes 2^%s tried smallest first from the previous k's N*; the search for a (seed, k, CoT) stops at the first success). Seeds %s (seed = model initialisation, training-set draw and batch order; the secret set is the same). Without CoT (the control): k = %s."
            s.Bits s.Depth s.Width s.EvalEvery s.Problems (100.0 * target) (100.0 * s.MinGain) s.Patience (s.Patience * s.EvalEvery) s.Cap (100.0 * target)
            (s.SizeExponents |> List.map string |> String.concat ", 2^") (s.Seeds |> List.map string |> String.concat ", ") (s.DirectSecrets |> List.map string |> String.concat ", ")) |> ignore
    if missing > 0 then
        report.Paragraph(
            sprintf "**Incomplete:** %d of the (seed, k, CoT) searches are unfinished (marked pending); this report is written from the %d runs recorded in %s. Verdicts that those searches could still change are \"pending\"."
                missing runs.Length (Path.GetFileName ledger.Path)) |> ignore
    report.Table([ "k"; yield! [ for seed in s.Seeds -> sprintf "N* with CoT (seed %d)" seed ]; yield! [ for seed in s.Seeds -> sprintf "N* without CoT (seed %d)" seed ] ],
                 [ for k in s.Secrets -> [ string k; yield! [ for seed in s.Seeds -> show seed true k ]; yield! [ for seed in s.Seeds -> show seed false k ] ] |> Array.ofList ]) |> ignore
    let runsOf seed cot k = [ for r in runs do if r.Seed = seed && r.Cot = cot && r.K = k then yield r ]
    let stepsToTarget (r: StudyRun) =
        r.Evals |> Seq.tryFind (fun ev -> ClaimRules.ReachedTarget(ev.Accuracy, target)) |> Option.map (fun ev -> ev.Step)
    let hours (seconds: float) = if seconds < 3600.0 then sprintf "%.0f s" seconds else sprintf "%.2f h" (seconds / 3600.0)
    let timeOf (rs: Done list) =
        match rs |> List.map (fun r -> r.Seconds) with
        | [] -> "-"
        | ts when List.forall Option.isSome ts -> sprintf "%.0f s" (ts |> List.sumBy Option.get)
        | ts -> sprintf ">= %.0f s (%d of %d timed)" (ts |> List.sumBy (Option.defaultValue 0.0)) (ts |> List.filter Option.isSome |> List.length) ts.Length
    report.Table([ "k"; "CoT"; "seed"; "N*"; "steps to 95% at N*"; "steps of the search (all sizes)"; "sizes tried: best accuracy (stopped by, steps)"; "wall-clock of the search" ],
                 [ for cot in [ true; false ] do
                       for seed in s.Seeds do
                           for k in secretsOf cot ->
                               let rs = runsOf seed cot k
                               let atStar = match outcome seed cot k with Reached e -> rs |> List.tryFind (fun r -> r.Exponent = e) | _ -> None
                               let stoppedBy (r: StudyRun) = if r.BestAccuracy >= target then "target" elif r.StoppedEarly then "patience" else "cap"
                               [ string k; string cot; string seed; show seed cot k
                                 (match atStar |> Option.bind (fun r -> stepsToTarget r.Run) with Some st -> string st | None -> "-")
                                 string (rs |> List.sumBy (fun r -> r.Run.Steps))
                                 (if rs.IsEmpty then "-" else rs |> List.map (fun r -> sprintf "2^%d: %s (%s, %d)" r.Exponent (StudyReport.Number r.Run.BestAccuracy) (stoppedBy r.Run) r.Run.Steps) |> String.concat "; ")
                                 timeOf rs ] |> Array.ofList ]) |> ignore
    report.Table([ "seed"; "k"; "CoT"; "N"; "best accuracy"; "final accuracy"; "final full-CoT exact match"; "steps"; "stopped by"; "steps to 95%"; "wall-clock" ],
                 [ for r in runs ->
                       let run = r.Run
                       let stoppedBy = if run.BestAccuracy >= target then "target" elif run.StoppedEarly then "patience" else "cap"
                       [ string r.Seed; string r.K; string r.Cot; sprintf "2^%d" r.Exponent; StudyReport.Number run.BestAccuracy; StudyReport.Number run.FinalAccuracy
                         StudyReport.Number run.FinalFullMatchAccuracy; string run.Steps; stoppedBy
                         (match stepsToTarget run with Some st -> string st | None -> "-")
                         (match r.Seconds with Some t -> sprintf "%.0f s" t | None -> "-") ] |> Array.ofList ]) |> ignore
    let capped = float (largest + 1)
    report.Plot("sample-efficiency.png", "smallest training set reaching 95% (top row: not reached)", "k", "log2 N*",
                [ for seed in s.Seeds do
                      for cot in [ true; false ] ->
                          PlotSeries(sprintf "%s, seed %d" (if cot then "with CoT" else "without CoT") seed,
                                     [| for k in secretsOf cot -> float k |],
                                     [| for k in secretsOf cot ->
                                            match outcome seed cot k with
                                            | Reached e -> float e
                                            | NotReached | NotRun -> capped
                                            | Pending _ -> nan |]) ]) |> ignore
    // Entropy over training: the first seed's CoT run at N* for the middle k (else its largest run; else
    // the first seed's last CoT run, when the middle k was not run).
    let middle = s.Secrets[s.Secrets.Length / 2]
    let firstSeedCot = runs |> List.filter (fun r -> r.Seed = s.Seeds.Head && r.Cot)
    match firstSeedCot |> List.filter (fun r -> r.K = middle) |> List.tryLast |> Option.orElse (List.tryLast firstSeedCot) with
    | Some r when r.Run.Evals.Count > 0 ->
        let run = r.Run
        let layers = run.Evals[0].Entropies.Length
        let heads = if layers = 0 then 0 else run.Evals[0].Entropies[0].Length
        let steps = [| for ev in run.Evals -> float ev.Step |]
        let series =
            [ for l in 0 .. layers - 1 do
                  for h in 0 .. heads - 1 ->
                      PlotSeries(sprintf "layer %d head %d" l h, steps, [| for ev in run.Evals -> ev.Entropies[l][h] |]) ]
            @ [ PlotSeries("held-out accuracy", steps, [| for ev in run.Evals -> if ev.Accuracy.HasValue then ev.Accuracy.Value else nan |]) ]
        report.Plot("entropy.png", sprintf "normalised attention entropy per head, k = %d with CoT, N = 2^%d, seed %d" r.K r.Exponent s.Seeds.Head, "step", "H(a)/log(#attendable), accuracy", series) |> ignore
        report.Table([ "step"; "accuracy"; "mean entropy (answer rows)"; "min head entropy" ],
                     [ for ev in run.Evals ->
                           let all = ev.Entropies |> Array.concat
                           [ string ev.Step; StudyReport.Number (if ev.Accuracy.HasValue then ev.Accuracy.Value else nan)
                             StudyReport.Number (if all.Length = 0 then nan else Array.average all)
                             StudyReport.Number (if all.Length = 0 then nan else Array.min all) ] |> Array.ofList ]) |> ignore
    | _ -> ()
    // Verdicts, decided per seed: Some true / Some false, or None while unfinished searches could change them.
    // Claim 1 ("flat in k"): with CoT every k reaches 95% on the grid and N* grows by at most one grid step
    // (a factor 4) from the smallest to the largest k. The searches make N* non-decreasing in k, and an
    // unfinished search bounds its N* from below, so a bound more than one step above N*(smallest k) already fails it.
    let step = match s.SizeExponents with a :: b :: _ -> b - a | _ -> 1
    let flatIn seed =
        let ks = s.Secrets
        let os = ks |> List.map (outcome seed true)
        if os |> List.exists (function NotReached | NotRun -> true | _ -> false) then Some false
        elif os |> List.forall (function Reached _ -> true | _ -> false) then
            Some (ClaimRules.FlatAcross([| for k in ks -> exponentOf seed true k |> Option.toNullable |], step))
        else
            match os.Head with
            | Reached first when os |> List.exists (function Pending e | Reached e -> e - first > step | _ -> false) -> Some false
            | _ -> None
    // Claim 2 (the paper's "exploding without CoT"): at every control k without CoT N* is at least the CoT N*
    // (not reaching counts as larger), and it grows from the smallest to the largest control k (ClaimRules.LargerAndGrowing).
    let decided seed cot k = match outcome seed cot k with Pending _ -> false | _ -> true
    let largerIn seed =
        let smallerWithout k = match outcome seed true k, outcome seed false k with Reached c, Reached d -> d < c | _ -> false
        if s.DirectSecrets |> List.exists smallerWithout then Some false
        elif s.DirectSecrets |> List.forall (fun k -> decided seed true k && decided seed false k) then
            Some (ClaimRules.LargerAndGrowing([| for k in s.DirectSecrets -> exponentOf seed true k |> Option.toNullable |],
                                              [| for k in s.DirectSecrets -> exponentOf seed false k |> Option.toNullable |]))
        else None
    // Claim 3 ("CoT needed"): at the largest control k, with CoT some size reaches 95% and without CoT none does.
    let neededAt seed k =
        match outcome seed true k, outcome seed false k with
        | Reached _, (NotReached | NotRun) -> Some true
        | _, Reached _ | (NotReached | NotRun), _ -> Some false
        | _ -> None
    let neededIn seed = neededAt seed (List.last s.DirectSecrets)
    let verdict (perSeed: bool option list) =
        if perSeed |> List.contains (Some false) then ClaimRules.Verdict false
        elif perSeed |> List.forall Option.isSome then ClaimRules.Verdict (ClaimRules.Agreement(perSeed |> List.map Option.get) = SeedAgreement.EverySeed)
        else "pending"
    let bySeed (perSeed: bool option list) =
        List.zip s.Seeds perSeed
        |> List.map (fun (seed, v) -> sprintf "seed %d: %s" seed (match v with Some true -> "holds" | Some false -> "fails" | None -> "pending"))
        |> String.concat ", "
    let flat = s.Seeds |> List.map flatIn
    let needed = s.Seeds |> List.map neededIn
    let larger = s.Seeds |> List.map largerIn
    report.Paragraph(
        sprintf "**Claim 1 (N* flat in k with CoT): %s.** Rule: in every seed, with CoT every k = %s reaches %.0f%% on the grid and N* grows by at most one grid step (a factor %d) from k = %d to k = %d. %s."
            (verdict flat) (s.Secrets |> List.map string |> String.concat ", ") (100.0 * target) (1 <<< step) s.Secrets.Head (List.last s.Secrets) (bySeed flat)) |> ignore
    let controls = s.DirectSecrets |> List.map string |> String.concat ", "
    report.Paragraph(
        sprintf "**Claim 2 (without CoT N* is larger and grows with k): %s.** Rule: in every seed, at every k = %s the N* without CoT is at least the N* with CoT (not reaching %.0f%% on the grid counts as larger; a CoT failure fails the claim), and the N* without CoT at k = %d exceeds the one at k = %d (not reaching counts as exceeding). %s."
            (verdict larger) controls (100.0 * target) (List.last s.DirectSecrets) s.DirectSecrets.Head (bySeed larger)) |> ignore
    let neededList seed =
        match s.DirectSecrets |> List.filter (fun k -> neededAt seed k = Some true) with
        | [] -> "none"
        | ks -> ks |> List.map (sprintf "k = %d") |> String.concat ", "
    report.Paragraph(
        sprintf "**Claim 3 (CoT needed at k = %d): %s.** Rule: in every seed, at k = %d the CoT runs reach %.0f%% at some N on the grid and the runs without CoT reach it at no N up to 2^%d (a k not run because a smaller k failed at every size counts as not reaching). %s. The k (of %s) at which CoT was needed in this sense: %s."
            (List.last s.DirectSecrets) (verdict needed) (List.last s.DirectSecrets) (100.0 * target) largest (bySeed needed) controls
            (s.Seeds |> List.map (fun seed -> sprintf "seed %d: %s" seed (neededList seed)) |> String.concat "; ")) |> ignore
    let timed = runs |> List.choose (fun r -> r.Seconds)
    report.Paragraph(
        sprintf "Wall-clock: %s of training over the %d runs with a recorded time (%d runs without one), %s; %d run%s trained by this invocation, which took %s. Steps trained in all: %d."
            (hours (List.sum timed)) timed.Length (runs.Length - timed.Length)
            (if context.Quick then "per-run times in the run folder" else sprintf "per-run times in docs/studies/cot-parity/%s" (Path.GetFileName timesPath))
            trainedHere (if trainedHere = 1 then "" else "s") (hours clock.Elapsed.TotalSeconds)
            (runs |> List.sumBy (fun r -> r.Run.Steps))) |> ignore
    printfn "report: %s" (report.Save())

#if !MODELDSL_CLI
runStudy study
#endif
