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
      Steps: int
      EvalEvery: int
      Problems: int
      Width: int
      Depth: int }

let full = { Bits = 20; Secrets = [ 2; 3; 4 ]; SizeExponents = [ 8; 12; 16 ]; Steps = 600; EvalEvery = 100; Problems = 256; Width = 64; Depth = 2 }
let quick = { Bits = 8; Secrets = [ 2; 3 ]; SizeExponents = [ 6 ]; Steps = 40; EvalEvery = 20; Problems = 64; Width = 32; Depth = 1 }

let target = 0.95

let parity (s: Settings) (threads: int option) k cot exponent =
    let name = sprintf "parity-n%d-k%d-%s-N%d" s.Bits k (if cot then "cot" else "direct") (1 <<< exponent)
    Experiment.pretrain name (Model.llama (vocab = 4, width = s.Width, depth = s.Depth, heads = 4))
    |> Experiment.task (Tasks.sparseParity (bits = s.Bits, secret = k, cot = cot, trainingExamples = (1L <<< exponent)))
    |> Experiment.optimizer (AdamW(Lr = 3e-3, WeightDecay = 0.01))
    |> Experiment.schedule (Schedule.constant (warmup = 0.05))
    |> Experiment.budget (Budget.steps s.Steps)
    |> Experiment.batch (globalBatch = 64)
    |> Experiment.eval (every = s.EvalEvery, batches = 2, problems = s.Problems)
    |> Experiment.checkpoint (every = 0, keep = 1)
    |> Experiment.seed 1
    |> Experiment.threads (defaultArg threads 2)
    |> Experiment.toSpecOrFail

let study (context: StudyContext) =
    let s = if context.Quick then quick else full
    let folder = context.CreateFolder "cot-parity"
    let threads = Option.ofNullable context.Threads
    // For each (k, CoT) the sizes are tried from the smallest up; the first that reaches the target is
    // N*. Larger k is at least as hard (its N* is not smaller), so its search starts at the previous
    // k's N*, and a k whose search failed at every size ends the search for larger k (marked "not run").
    let mutable collected : (int * bool * int * StudyRun) list = []
    let mutable skipped : (int * bool) list = []
    for cot in [ true; false ] do
        let mutable start = Some (List.head s.SizeExponents)
        for k in s.Secrets do
            match start with
            | None -> skipped <- skipped @ [ (k, cot) ]
            | Some first ->
                let mutable found = None
                for exponent in s.SizeExponents |> List.filter (fun e -> e >= first) do
                    if found.IsNone then
                        let run = StudyTrainer.Train(parity s threads k cot exponent, folder, target)
                        if run.BestAccuracy >= target then found <- Some exponent
                        printfn "k=%d cot=%b N=2^%d: best accuracy %.3f after %d steps" k cot exponent run.BestAccuracy run.Steps
                        collected <- collected @ [ (k, cot, exponent, run) ]
                start <- found
    let runs = collected
    let smallest cot k =
        ClaimRules.SmallestReaching([ for (k', cot', e, r: StudyRun) in runs do if k' = k && cot' = cot then yield struct (e, r.BestAccuracy) ], target)
        |> Option.ofNullable
    let show cot k =
        match smallest cot k with
        | Some e -> sprintf "2^%d" e
        | None when List.contains (k, cot) skipped -> sprintf "> 2^%d (not run: k = %d failed at every size)" (List.last s.SizeExponents) (k - 1)
        | None -> sprintf "> 2^%d" (List.last s.SizeExponents)
    let report = StudyReport(folder, "CoT makes parity learnable: sample efficiency with and without chain of thought")
    report.Paragraph(
        sprintf "Parity(n = %d, k) with a fixed training set of N examples; %d-layer Llama, width %d, 4 heads; AdamW lr 3e-3, batch 64, up to %d steps, evaluation every %d steps on %d held-out inputs (outside the training set). N* = smallest N whose best held-out accuracy reaches %.0f%% (sizes tried smallest first from the previous k's N*; the search for a (k, CoT) stops at the first success)."
            s.Bits s.Depth s.Width s.Steps s.EvalEvery s.Problems (100.0 * target)) |> ignore
    report.Table([ "k"; "N* with CoT"; "N* without CoT" ],
                 [ for k in s.Secrets -> [ string k; show true k; show false k ] |> Array.ofList ]) |> ignore
    report.Table([ "k"; "CoT"; "N"; "best accuracy"; "final accuracy"; "final full-CoT exact match"; "steps"; "stopped at target" ],
                 [ for k, cot, e, r in runs ->
                       [ string k; string cot; sprintf "2^%d" e; StudyReport.Number r.BestAccuracy; StudyReport.Number r.FinalAccuracy
                         StudyReport.Number r.FinalFullMatchAccuracy; string r.Steps; string r.StoppedEarly ] |> Array.ofList ]) |> ignore
    let capped = float (List.last s.SizeExponents + 1)
    report.Plot("sample-efficiency.png", "smallest training set reaching 95% (top row: not reached)", "k", "log2 N*",
                [ for cot in [ true; false ] ->
                      PlotSeries((if cot then "with CoT" else "without CoT"),
                                 [| for k in s.Secrets -> float k |],
                                 [| for k in s.Secrets -> match smallest cot k with Some e -> float e | None -> capped |]) ]) |> ignore
    // Entropy over training: the CoT run at N* for the middle k (else its largest run).
    let middle = s.Secrets[s.Secrets.Length / 2]
    match runs |> List.filter (fun (k, cot, _, _) -> k = middle && cot) |> List.tryLast with
    | Some (_, _, e, run) when run.Evals.Count > 0 ->
        let layers = run.Evals[0].Entropies.Length
        let heads = if layers = 0 then 0 else run.Evals[0].Entropies[0].Length
        let steps = [| for ev in run.Evals -> float ev.Step |]
        let series =
            [ for l in 0 .. layers - 1 do
                  for h in 0 .. heads - 1 ->
                      PlotSeries(sprintf "layer %d head %d" l h, steps, [| for ev in run.Evals -> ev.Entropies[l][h] |]) ]
            @ [ PlotSeries("held-out accuracy", steps, [| for ev in run.Evals -> if ev.Accuracy.HasValue then ev.Accuracy.Value else nan |]) ]
        report.Plot("entropy.png", sprintf "normalised attention entropy per head, k = %d with CoT, N = 2^%d" middle e, "step", "H(a)/log(#attendable), accuracy", series) |> ignore
        report.Table([ "step"; "accuracy"; "mean entropy (answer rows)"; "min head entropy" ],
                     [ for ev in run.Evals ->
                           let all = ev.Entropies |> Array.concat
                           [ string ev.Step; StudyReport.Number (if ev.Accuracy.HasValue then ev.Accuracy.Value else nan)
                             StudyReport.Number (Array.average all); StudyReport.Number (Array.min all) ] |> Array.ofList ]) |> ignore
    | _ -> ()
    // The papers' qualitative claims, checked on these numbers.
    let withCot = s.Secrets |> List.map (smallest true)
    let without = s.Secrets |> List.map (smallest false)
    let nullable = List.map Option.toNullable >> Array.ofList
    let flat = ClaimRules.FlatAcross(nullable withCot, 2)
    let explodes = ClaimRules.LargerAndGrowing(nullable withCot, nullable without)
    report.Paragraph(
        sprintf "Claim 1 (N* roughly flat in k with CoT, within a factor 4): %s. Claim 2 (without CoT N* is larger and grows with k): %s."
            (ClaimRules.Verdict flat) (ClaimRules.Verdict explodes)) |> ignore
    printfn "report: %s" (report.Save())

#if !MODELDSL_CLI
runStudy study
#endif
