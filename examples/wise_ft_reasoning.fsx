// WiSE-FT for reasoning (arXiv 2504.10478, PAPERS.md §5), tested over several seeds. Claims:
//   1. during supervised training pass@1 rises while pass@k at large k peaks early and then falls
//      (diversity collapse: fewer distinct answers, a wider spread of the per-problem pass rate rho);
//   2. interpolating an early and the last checkpoint, theta = (1 - alpha) theta_early + alpha theta_last,
//      gives pass@k above the last checkpoint with pass@1 at least as good (alpha = 0.5 highlighted);
//   3. the same mix also improves maj@k and Best@k.
// Setting: chained sums with chain of thought, trained from scratch; one run per seed with a checkpoint
// every few steps (the trajectory), every checkpoint and every mix scored by sampling. The seed drives
// the initialisation, the data order, the held-out problems and the samples.
//   ./modeldsl run examples/wise_ft_reasoning.fsx [--quick] [--runs-dir DIR] [--threads N]
// Writes <runs>/wise-ft-reasoning-<time>/report.md with tables, verdicts and PNG plots. A run directory
// that already finished is not trained again when the study is pointed at the same folder.
#load "../modeldsl.fsx"

open System.IO
open ModelDsl.Runtime.Studies
open ModelDsl.Runtime.Training
open ModelDsl.Runtime.Eval

type Settings =
    { Modulus: int; Steps: int; TrainingExamples: int64 option; Width: int; Depth: int; Heads: int; Lr: float
      TotalSteps: int; CheckpointEvery: int; EarlyStep: int; Alphas: float list
      Problems: int; Samples: int; Ks: int list; Seeds: int list }

/// The first full setting, kept as a pilot: five possible answers, so that 16 samples of even an
/// untrained model nearly always contain the right one and pass@16 has no room (docs/studies/wise-ft-reasoning).
let pilotMod5 =
    { Modulus = 5; Steps = 3; TrainingExamples = None; Width = 32; Depth = 2; Heads = 4; Lr = 3e-3
      TotalSteps = 240; CheckpointEvery = 20; EarlyStep = 40; Alphas = [ 0.0; 0.25; 0.5; 0.75; 1.0 ]
      Problems = 128; Samples = 16; Ks = [ 1; 2; 4; 8; 16 ]; Seeds = [ 1; 2; 3 ] }

let full =
    { Modulus = 17; Steps = 3; TrainingExamples = Some 500L; Width = 32; Depth = 2; Heads = 4; Lr = 3e-3
      TotalSteps = 600; CheckpointEvery = 50; EarlyStep = 200; Alphas = [ 0.0; 0.25; 0.5; 0.75; 1.0 ]
      Problems = 128; Samples = 16; Ks = [ 1; 2; 4; 8; 16 ]; Seeds = [ 1; 2; 3 ] }

/// MODELDSL_WISE_SETTING=pilot-mod5, pilot-mod17 (fresh problems every step) or pilot-finite (the full
/// setting, seed 1 only) reruns a pilot of docs/studies/wise-ft-reasoning.
let chosen () =
    match System.Environment.GetEnvironmentVariable "MODELDSL_WISE_SETTING" with
    | null | "" -> full
    | "pilot-mod5" -> pilotMod5
    | "pilot-mod17" -> { full with TrainingExamples = None; TotalSteps = 400; CheckpointEvery = 40; EarlyStep = 40; Seeds = [ 1 ] }
    | "pilot-finite" -> { full with Seeds = [ 1 ] }
    | name when name.StartsWith "pilot-finite-" -> { full with Seeds = [ 1 ]; TrainingExamples = Some (int64 (name.Substring 13)) }
    | other -> failwithf "MODELDSL_WISE_SETTING: unknown setting '%s' (pilot-mod5, pilot-mod17, pilot-finite)" other

let quick =
    { Modulus = 5; Steps = 3; TrainingExamples = Some 30L; Width = 16; Depth = 1; Heads = 2; Lr = 3e-3
      TotalSteps = 6; CheckpointEvery = 2; EarlyStep = 2; Alphas = [ 0.0; 0.5; 1.0 ]
      Problems = 6; Samples = 4; Ks = [ 1; 2; 4 ]; Seeds = [ 1; 2 ] }

let experiment (s: Settings) (threads: int option) seed =
    Experiment.pretrain (sprintf "sft-seed-%d" seed) (Model.llama (vocab = s.Modulus + 1, width = s.Width, depth = s.Depth, heads = s.Heads) |> Model.maxSequenceLength (2 * s.Steps + 1))
    |> Experiment.task (ChainedArithmetic(Modulus = s.Modulus, Steps = s.Steps, TrainingExamples = Option.toNullable s.TrainingExamples))
    |> Experiment.optimizer (AdamW(Lr = s.Lr, WeightDecay = 0.01))
    |> Experiment.schedule (Schedule.constant (warmup = 0.05))
    |> Experiment.budget (Budget.steps (int64 s.TotalSteps))
    |> Experiment.batch (globalBatch = 64)
    |> Experiment.eval (every = s.TotalSteps, batches = 2, problems = 64)
    |> Experiment.checkpoint (every = s.CheckpointEvery, keep = s.TotalSteps / s.CheckpointEvery + 1)
    |> Experiment.seed seed
    |> Experiment.threads (defaultArg threads 2)
    |> Experiment.toSpecOrFail

let samplingSpec (s: Settings) seed =
    SamplingEvalSpec(Problems = s.Problems, Samples = s.Samples, Ks = ValueList.Of(Array.ofList s.Ks), Seed = 1000L * int64 seed + 7L, BatchSize = 512)

let score (spec: ExperimentSpec) (s: Settings) seed (source: ModelSource) =
    use model = ModelDsl.Runtime.FineTune.ModelLoader.Load(source, spec.Model)
    let task = ModelDsl.Runtime.Tasks.TaskFactory.Create(spec.Task, spec.Training.Seed)
    SamplingEvaluator.Evaluate(model, task, samplingSpec s seed)

/// One seed: the run with its trajectory of checkpoints, and the alpha sweep between early and last.
type SeedResult =
    { Seed: int; Trajectory: (int * SamplingEvalResult) list; Sweep: (float * SamplingEvalResult) list }
    member r.At step = r.Trajectory |> List.find (fun (t, _) -> t = step) |> snd
    member r.Mix alpha = r.Sweep |> List.find (fun (a, _) -> abs (a - alpha) < 1e-9) |> snd

let mean (xs: float list) = List.average xs
let sd (xs: float list) = let m = mean xs in if xs.Length < 2 then nan else sqrt (List.sumBy (fun x -> (x - m) ** 2.0) xs / float (xs.Length - 1))

let study (context: StudyContext) =
    let s = if context.Quick then quick else chosen ()
    let folder = context.CreateFolder "wise-ft-reasoning"
    let threads = Option.ofNullable context.Threads
    let kMax = List.max s.Ks
    let clock = System.Diagnostics.Stopwatch.StartNew()

    let seeds =
        [ for seed in s.Seeds ->
              let spec = experiment s threads seed
              let runDirectory = Path.Combine(folder, sprintf "seed-%d" seed)
              let result = Trainer.Run(spec, TrainOptions(RunDirectory = runDirectory))
              let checkpoint step = Source.checkpoint (Path.Combine(runDirectory, "checkpoints", sprintf "step-%08d.ckpt" step))
              let steps = [ s.CheckpointEvery .. s.CheckpointEvery .. s.TotalSteps ]
              let trajectory = [ for t in steps -> t, score spec s seed (checkpoint t) ]
              let early, last = checkpoint s.EarlyStep, checkpoint s.TotalSteps
              let sweep = [ for a in s.Alphas -> a, score spec s seed (Source.interpolate early last a) ]
              printfn "seed %d: %d steps, final loss %.4f (%.0f s)" seed result.Steps result.FinalTrainLoss clock.Elapsed.TotalSeconds
              for t, r in trajectory do
                  printfn "  step %5d: pass@1 %.3f pass@%d %.3f distinct %.3f Var rho %.4f" t (r.At 1).PassAtK kMax (r.At kMax).PassAtK r.DistinctAnswerFraction r.PassRates.Variance
              for a, r in sweep do
                  printfn "  alpha %.2f: pass@1 %.3f pass@%d %.3f maj@%d %.3f Best@%d %.3f" a (r.At 1).PassAtK kMax (r.At kMax).PassAtK kMax (r.At kMax).MajorityAtK kMax (r.At kMax).BestByLogProbabilityAtK
              { Seed = seed; Trajectory = trajectory; Sweep = sweep } ]

    let report = StudyReport(folder, "WiSE-FT for reasoning: diversity collapse and interpolating early and late checkpoints")
    report.Paragraph(
        sprintf "Chained sums mod %d over %d operands with chain of thought, trained from scratch (the supervised stage; there is no separate pre-training) on %s. Llama-style model, %d layers, width %d, %d heads; AdamW lr %g (weight decay 0.01), constant schedule after 5%% warmup, batch 64, %d steps, a checkpoint every %d steps. Seeds %s; the seed drives initialisation, the training set, data order, the held-out problems and the samples. Every checkpoint and every mix theta = (1 - alpha) theta(step %d) + alpha theta(step %d) is scored on %d held-out problems%s with %d samples each at temperature 1: unbiased pass@k, maj@k, Best@k by summed log-probability, the mean and variance of the per-problem pass rate rho, and the fraction of distinct final answers among the samples. For scale: a model that guesses the final answer uniformly has pass@1 %s and pass@%d %s."
            s.Modulus s.Steps
            (match s.TrainingExamples with
             | Some n -> sprintf "a fixed training set of %d distinct problems (of the %d possible)" n (pown s.Modulus s.Steps)
             | None -> sprintf "fresh problems at every step (all %d possible problems recur)" (pown s.Modulus s.Steps))
            s.Depth s.Width s.Heads s.Lr s.TotalSteps s.CheckpointEvery
            (String.concat ", " (List.map string s.Seeds)) s.EarlyStep s.TotalSteps s.Problems
            (match s.TrainingExamples with Some _ -> " (outside the training set, drawn with replacement)" | None -> " (drawn with replacement)")
            s.Samples (StudyReport.Number (1.0 / float s.Modulus)) kMax (StudyReport.Number (1.0 - (1.0 - 1.0 / float s.Modulus) ** float kMax))) |> ignore

    // The trajectory: every checkpoint of every seed.
    report.Paragraph("## Claim 1: pass@1 rises during training while pass@k at large k peaks early\n\nEvery checkpoint of every seed:") |> ignore
    report.Table(
        [ yield "seed"; yield "step"
          for k in s.Ks do yield sprintf "pass@%d" k
          yield "mean rho"; yield "Var rho"; yield "distinct answers" ],
        [ for r in seeds do
              for t, e in r.Trajectory ->
                  [| yield string r.Seed; yield string t
                     for k in s.Ks do yield StudyReport.Number (e.At k).PassAtK
                     yield StudyReport.Number e.PassRates.Mean; yield StudyReport.Number e.PassRates.Variance
                     yield StudyReport.Number e.DistinctAnswerFraction |] ]) |> ignore
    let steps = seeds.Head.Trajectory |> List.map (fst >> float) |> Array.ofList
    report.Plot("trajectory.png", sprintf "pass@1 and pass@%d over training, each seed" kMax, "step", "pass@k",
                [ for r in seeds do
                      yield PlotSeries(sprintf "pass@1 seed %d" r.Seed, steps, [| for _, e in r.Trajectory -> (e.At 1).PassAtK |])
                      yield PlotSeries(sprintf "pass@%d seed %d" kMax r.Seed, steps, [| for _, e in r.Trajectory -> (e.At kMax).PassAtK |]) ]) |> ignore
    report.Plot("diversity.png", "Diversity over training: distinct answers per sample and Var rho, each seed", "step", "value",
                [ for r in seeds do
                      yield PlotSeries(sprintf "distinct answers seed %d" r.Seed, steps, [| for _, e in r.Trajectory -> e.DistinctAnswerFraction |])
                      yield PlotSeries(sprintf "Var rho seed %d" r.Seed, steps, [| for _, e in r.Trajectory -> e.PassRates.Variance |]) ]) |> ignore

    // The alpha sweep.
    report.Paragraph(sprintf "## Claims 2 and 3: WiSE-FT between step %d and step %d\n\nalpha 0 is the early checkpoint, 1 the last:" s.EarlyStep s.TotalSteps) |> ignore
    report.Table(
        [ yield "seed"; yield "alpha"
          for k in s.Ks do yield sprintf "pass@%d" k
          yield sprintf "maj@%d" kMax; yield sprintf "Best@%d" kMax; yield "mean rho"; yield "Var rho"; yield "distinct answers" ],
        [ for r in seeds do
              for a, e in r.Sweep ->
                  [| yield string r.Seed; yield StudyReport.Number a
                     for k in s.Ks do yield StudyReport.Number (e.At k).PassAtK
                     yield StudyReport.Number (e.At kMax).MajorityAtK; yield StudyReport.Number (e.At kMax).BestByLogProbabilityAtK
                     yield StudyReport.Number e.PassRates.Mean; yield StudyReport.Number e.PassRates.Variance
                     yield StudyReport.Number e.DistinctAnswerFraction |] ]) |> ignore
    let alphas = Array.ofList s.Alphas
    report.Plot("alpha-sweep.png", sprintf "pass@1 and pass@%d against alpha (0: early, 1: last), each seed" kMax, "alpha", "pass@k",
                [ for r in seeds do
                      yield PlotSeries(sprintf "pass@1 seed %d" r.Seed, alphas, [| for _, e in r.Sweep -> (e.At 1).PassAtK |])
                      yield PlotSeries(sprintf "pass@%d seed %d" kMax r.Seed, alphas, [| for _, e in r.Sweep -> (e.At kMax).PassAtK |]) ]) |> ignore

    // pass@k against k, averaged over seeds, for the early checkpoint, the mix at 0.5 and the last checkpoint.
    let half = s.Alphas |> List.minBy (fun a -> abs (a - 0.5))
    let averaged (pick: SeedResult -> SamplingEvalResult) =
        [ for k in s.Ks -> struct (k, mean [ for r in seeds -> ((pick r).At k).PassAtK ]) ] :> System.Collections.Generic.IReadOnlyList<_>
    SamplingPlots.SavePassAtK(Path.Combine(folder, "pass-at-k.png"),
        [ struct (sprintf "early (step %d)" s.EarlyStep, averaged (fun r -> r.At s.EarlyStep))
          struct (sprintf "WiSE-FT alpha %.2g" half, averaged (fun r -> r.Mix half))
          struct (sprintf "last (step %d)" s.TotalSteps, averaged (fun r -> r.At s.TotalSteps)) ])
    report.Paragraph(sprintf "![pass@k against k, mean over seeds: early, WiSE-FT alpha %.2g, last](pass-at-k.png)" half) |> ignore
    let first = seeds.Head
    for name, label, e in [ "rho-early.png", sprintf "early (step %d)" s.EarlyStep, first.At s.EarlyStep
                            "rho-wise.png", sprintf "WiSE-FT alpha %.2g" half, first.Mix half
                            "rho-last.png", sprintf "last (step %d)" s.TotalSteps, first.At s.TotalSteps ] do
        SamplingPlots.SavePassRateHistogram(Path.Combine(folder, name), e.PassRates,
            sprintf "seed %d, %s: mean rho %.3f, Var rho %.4f" first.Seed label e.PassRates.Mean e.PassRates.Variance)
        report.Paragraph(sprintf "![histogram of rho, seed %d, %s](%s)" first.Seed label name) |> ignore

    // Verdicts: each claim checked seed by seed on the numbers above.
    let fmt = StudyReport.Number
    let signed (x: float) = (if x >= 0.0 then "+" else "") + x.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture)
    let verdict (holds: bool list) =
        let n = holds |> List.filter id |> List.length
        if n = holds.Length then "reproduced" elif n = 0 then "not reproduced" else sprintf "mixed (%d of %d seeds)" n holds.Length
    let claim name (evidence: SeedResult -> float * string) (holds: float -> bool) =
        let rows = [ for r in seeds -> evidence r ]
        let values = List.map fst rows
        [| name
           String.concat "; " [ for r, (_, text) in List.zip seeds rows -> sprintf "seed %d: %s" r.Seed text ]
           sprintf "%s ± %s" (signed (mean values)) (fmt (sd values))
           verdict (List.map holds values) |]
    let last (r: SeedResult) = r.At s.TotalSteps
    let early (r: SeedResult) = r.At s.EarlyStep
    let peak (r: SeedResult) = r.Trajectory |> List.maxBy (fun (_, e) -> (e.At kMax).PassAtK)
    let wise (r: SeedResult) = r.Mix half
    let margin = 0.005
    report.Paragraph(sprintf "## Verdicts\n\nEach claim is checked in every seed; a difference counts when it exceeds %g (half a point) in the claimed direction, and \"at least as good\" allows a loss of up to %g. The mean ± standard deviation is over seeds." margin margin) |> ignore
    report.Table(
        [ "claim"; "per-seed evidence"; "mean ± sd"; "verdict" ],
        [ claim (sprintf "pass@1 rises from step %d to step %d" s.EarlyStep s.TotalSteps)
              (fun r -> let d = (last r).At(1).PassAtK - (early r).At(1).PassAtK in d, sprintf "%s -> %s" (fmt ((early r).At(1).PassAtK)) (fmt ((last r).At(1).PassAtK)))
              (fun d -> d > margin)
          claim (sprintf "pass@%d peaks before the last checkpoint and falls by the end (peak - last)" kMax)
              (fun r -> let t, e = peak r in (e.At kMax).PassAtK - (last r).At(kMax).PassAtK, sprintf "peak %s at step %d, last %s" (fmt (e.At kMax).PassAtK) t (fmt ((last r).At(kMax).PassAtK)))
              (fun d -> d > margin)
          claim (sprintf "distinct answers fall from step %d to the end (early - last)" s.EarlyStep)
              (fun r -> (early r).DistinctAnswerFraction - (last r).DistinctAnswerFraction, sprintf "%s -> %s" (fmt (early r).DistinctAnswerFraction) (fmt (last r).DistinctAnswerFraction))
              (fun d -> d > margin)
          claim (sprintf "Var rho grows from step %d to the end (last - early)" s.EarlyStep)
              (fun r -> (last r).PassRates.Variance - (early r).PassRates.Variance, sprintf "%s -> %s" (fmt (early r).PassRates.Variance) (fmt (last r).PassRates.Variance))
              (fun d -> d > margin)
          claim (sprintf "WiSE-FT alpha %.2g: pass@%d above the last checkpoint" half kMax)
              (fun r -> (wise r).At(kMax).PassAtK - (last r).At(kMax).PassAtK, sprintf "%s vs %s" (fmt ((wise r).At(kMax).PassAtK)) (fmt ((last r).At(kMax).PassAtK)))
              (fun d -> d > margin)
          claim (sprintf "WiSE-FT alpha %.2g: pass@1 at least that of the last checkpoint" half)
              (fun r -> (wise r).At(1).PassAtK - (last r).At(1).PassAtK, sprintf "%s vs %s" (fmt ((wise r).At(1).PassAtK)) (fmt ((last r).At(1).PassAtK)))
              (fun d -> d >= -margin)
          claim (sprintf "WiSE-FT alpha %.2g: maj@%d at least that of the last checkpoint" half kMax)
              (fun r -> (wise r).At(kMax).MajorityAtK - (last r).At(kMax).MajorityAtK, sprintf "%s vs %s" (fmt ((wise r).At(kMax).MajorityAtK)) (fmt ((last r).At(kMax).MajorityAtK)))
              (fun d -> d >= -margin)
          claim (sprintf "WiSE-FT alpha %.2g: Best@%d (by log-probability) at least that of the last checkpoint" half kMax)
              (fun r -> (wise r).At(kMax).BestByLogProbabilityAtK - (last r).At(kMax).BestByLogProbabilityAtK, sprintf "%s vs %s" (fmt ((wise r).At(kMax).BestByLogProbabilityAtK)) (fmt ((last r).At(kMax).BestByLogProbabilityAtK)))
              (fun d -> d >= -margin)
          claim (sprintf "some interior alpha has pass@%d above both endpoints (best interior - best endpoint)" kMax)
              (fun r ->
                  let interior = r.Sweep |> List.filter (fun (a, _) -> a > 0.0 && a < 1.0)
                  let a, e = interior |> List.maxBy (fun (_, e) -> (e.At kMax).PassAtK)
                  let ends = max ((r.Mix 0.0).At(kMax).PassAtK) ((r.Mix 1.0).At(kMax).PassAtK)
                  (e.At kMax).PassAtK - ends, sprintf "alpha %.2g: %s vs %s" a (fmt (e.At kMax).PassAtK) (fmt ends))
              (fun d -> d > margin) ]) |> ignore
    report.Paragraph(sprintf "Wall time of the study: %.0f s." clock.Elapsed.TotalSeconds) |> ignore
    printfn "report: %s" (report.Save())
