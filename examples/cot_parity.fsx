// CoT makes parity learnable (arXiv 2410.05459, PAPERS.md §10): the smallest training-set size N at
// which a small transformer reaches 95% held-out accuracy on Parity(n, k), with and without chain of
// thought, as k grows; and the normalised attention entropy of each head over training.
// Expected: N roughly flat in k with CoT, exploding without it; entropy drops when accuracy jumps.
//   ./modeldsl run examples/cot_parity.fsx [--quick] [--runs-dir DIR] [--threads N]
//   dotnet fsi examples/cot_parity.fsx [--quick]
// Writes <runs>/cot-parity-<time>/report.md with tables and PNG plots.
#load "../modeldsl.fsx"

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
let full = { Bits = 20; Secrets = [ 2; 3; 4 ]; SizeExponents = [ 6; 8; 10; 12 ]; DirectSecrets = [ 2 ]; Cap = 6000; EvalEvery = 100; Patience = 10; MinGain = 0.01; Problems = 256; Width = 64; Depth = 2; Seeds = [ 1; 2 ] }
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

let study (context: StudyContext) =
    let s = if context.Quick then quick else full
    let folder = context.CreateFolder "cot-parity"
    let threads = Option.ofNullable context.Threads
    // Per seed and (k, CoT) the sizes are tried from the smallest up; the first that reaches the target is
    // N*. Larger k is at least as hard (its N* is not smaller), so its search starts at the previous k's
    // N* in that seed, and a k whose search failed at every size ends the search for larger k ("not run").
    let clock = System.Diagnostics.Stopwatch.StartNew()
    let mutable collected : (int * int * bool * int * StudyRun) list = []
    let mutable skipped : (int * int * bool) list = []
    for seed in s.Seeds do
        for cot in [ true; false ] do
            let mutable start = Some (List.head s.SizeExponents)
            for k in (if cot then s.Secrets else s.DirectSecrets) do
                match start with
                | None -> skipped <- skipped @ [ (seed, k, cot) ]
                | Some first ->
                    let mutable found = None
                    for exponent in s.SizeExponents |> List.filter (fun e -> e >= first) do
                        if found.IsNone then
                            let run = StudyTrainer.Train(parity s threads k cot exponent seed, folder, target, stopWhen = stalled s)
                            if run.BestAccuracy >= target then found <- Some exponent
                            printfn "seed %d k=%d cot=%b N=2^%d: best accuracy %.3f after %d steps (%.0f s so far)" seed k cot exponent run.BestAccuracy run.Steps clock.Elapsed.TotalSeconds
                            collected <- collected @ [ (seed, k, cot, exponent, run) ]
                    start <- found
    let runs = collected
    let smallest seed cot k =
        ClaimRules.SmallestReaching([ for (seed', k', cot', e, r: StudyRun) in runs do if seed' = seed && k' = k && cot' = cot then yield struct (e, r.BestAccuracy) ], target)
        |> Option.ofNullable
    let secretsOf cot = if cot then s.Secrets else s.DirectSecrets
    let show seed cot k =
        if not (List.contains k (secretsOf cot)) then "not run"
        else
            match smallest seed cot k with
            | Some e -> sprintf "2^%d" e
            | None when List.contains (seed, k, cot) skipped -> sprintf "> 2^%d (not run: k = %d failed at every size)" (List.last s.SizeExponents) (k - 1)
            | None -> sprintf "> 2^%d" (List.last s.SizeExponents)
    let report = StudyReport(folder, "CoT makes parity learnable: sample efficiency with and without chain of thought")
    report.Paragraph(
        sprintf "Parity(n = %d, k) with a fixed training set of N examples; %d-layer Llama, width %d, 4 heads; AdamW lr 3e-3 (weight decay 0.01, linear warm-up over min(5%% of the cap, 150 steps), then constant), batch 64, evaluation every %d steps on %d held-out inputs (outside the training set). Each run trains to convergence: it stops at %.0f%% held-out accuracy, when its best accuracy has gained no more than %.0f point in the last %d evaluations (%d steps), or at the cap of %d steps. N* = smallest N whose best held-out accuracy reaches %.0f%% (sizes 2^%s tried smallest first from the previous k's N*; the search for a (seed, k, CoT) stops at the first success). Seeds %s (seed = model initialisation, training-set draw and batch order; the secret set is the same). Without CoT only k = %s is run (the control)."
            s.Bits s.Depth s.Width s.EvalEvery s.Problems (100.0 * target) (100.0 * s.MinGain) s.Patience (s.Patience * s.EvalEvery) s.Cap (100.0 * target)
            (s.SizeExponents |> List.map string |> String.concat ", 2^") (s.Seeds |> List.map string |> String.concat ", ") (s.DirectSecrets |> List.map string |> String.concat ", ")) |> ignore
    report.Table([ "k"; yield! [ for seed in s.Seeds -> sprintf "N* with CoT (seed %d)" seed ]; yield! [ for seed in s.Seeds -> sprintf "N* without CoT (seed %d)" seed ] ],
                 [ for k in s.Secrets -> [ string k; yield! [ for seed in s.Seeds -> show seed true k ]; yield! [ for seed in s.Seeds -> show seed false k ] ] |> Array.ofList ]) |> ignore
    report.Table([ "seed"; "k"; "CoT"; "N"; "best accuracy"; "final accuracy"; "final full-CoT exact match"; "steps"; "stopped by"; "steps to 95%" ],
                 [ for seed, k, cot, e, r in runs ->
                       let reached = r.Evals |> Seq.tryFind (fun ev -> ClaimRules.ReachedTarget(ev.Accuracy, target))
                       let stoppedBy = if r.BestAccuracy >= target then "target" elif r.StoppedEarly then "patience" else "cap"
                       [ string seed; string k; string cot; sprintf "2^%d" e; StudyReport.Number r.BestAccuracy; StudyReport.Number r.FinalAccuracy
                         StudyReport.Number r.FinalFullMatchAccuracy; string r.Steps; stoppedBy
                         (match reached with Some ev -> string ev.Step | None -> "-") ] |> Array.ofList ]) |> ignore
    let capped = float (List.last s.SizeExponents + 1)
    report.Plot("sample-efficiency.png", "smallest training set reaching 95% (top row: not reached)", "k", "log2 N*",
                [ for seed in s.Seeds do
                      for cot in [ true; false ] ->
                          PlotSeries(sprintf "%s, seed %d" (if cot then "with CoT" else "without CoT") seed,
                                     [| for k in secretsOf cot -> float k |],
                                     [| for k in secretsOf cot -> match smallest seed cot k with Some e -> float e | None -> capped |]) ]) |> ignore
    // Entropy over training: the first seed's CoT run at N* for the middle k (else its largest run).
    let middle = s.Secrets[s.Secrets.Length / 2]
    match runs |> List.filter (fun (seed, k, cot, _, _) -> seed = s.Seeds.Head && k = middle && cot) |> List.tryLast with
    | Some (_, _, _, e, run) when run.Evals.Count > 0 ->
        let layers = run.Evals[0].Entropies.Length
        let heads = if layers = 0 then 0 else run.Evals[0].Entropies[0].Length
        let steps = [| for ev in run.Evals -> float ev.Step |]
        let series =
            [ for l in 0 .. layers - 1 do
                  for h in 0 .. heads - 1 ->
                      PlotSeries(sprintf "layer %d head %d" l h, steps, [| for ev in run.Evals -> ev.Entropies[l][h] |]) ]
            @ [ PlotSeries("held-out accuracy", steps, [| for ev in run.Evals -> if ev.Accuracy.HasValue then ev.Accuracy.Value else nan |]) ]
        report.Plot("entropy.png", sprintf "normalised attention entropy per head, k = %d with CoT, N = 2^%d, seed %d" middle e s.Seeds.Head, "step", "H(a)/log(#attendable), accuracy", series) |> ignore
        report.Table([ "step"; "accuracy"; "mean entropy (answer rows)"; "min head entropy" ],
                     [ for ev in run.Evals ->
                           let all = ev.Entropies |> Array.concat
                           [ string ev.Step; StudyReport.Number (if ev.Accuracy.HasValue then ev.Accuracy.Value else nan)
                             StudyReport.Number (Array.average all); StudyReport.Number (Array.min all) ] |> Array.ofList ]) |> ignore
    | _ -> ()
    // The paper's qualitative claims, checked in every seed.
    let nullable = List.map Option.toNullable >> Array.ofList
    let perSeed holds = ClaimRules.Agreement([ for seed in s.Seeds -> holds seed ])
    let flat = SeedAgreement.EverySeed = perSeed (fun seed -> ClaimRules.FlatAcross(nullable (s.Secrets |> List.map (smallest seed true)), 2))
    let explodes = SeedAgreement.EverySeed = perSeed (fun seed -> ClaimRules.LargerAndGrowing(nullable (s.DirectSecrets |> List.map (smallest seed true)), nullable (s.DirectSecrets |> List.map (smallest seed false))))
    report.Paragraph(
        sprintf "Claim 1 (N* roughly flat in k with CoT, within a factor 4, in every seed): %s. Claim 2 (without CoT N* is larger than with CoT%s, in every seed; not reaching counts as larger): %s. Total training time %.0f s."
            (ClaimRules.Verdict flat)
            (if s.DirectSecrets.Length > 1 then " and grows with k" else sprintf " at k = %d" s.DirectSecrets.Head)
            (ClaimRules.Verdict explodes) clock.Elapsed.TotalSeconds) |> ignore
    printfn "report: %s" (report.Save())

#if !MODELDSL_CLI
runStudy study
#endif
