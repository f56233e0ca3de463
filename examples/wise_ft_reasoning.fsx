// WiSE-FT for reasoning (arXiv 2504.10478, PAPERS.md §5): during supervised fine-tuning pass@1 rises
// while pass@k falls; interpolating an early and a late checkpoint of the same run,
// theta = (1 - alpha) theta_early + alpha theta_late, is claimed to recover pass@k (and help pass@1,
// maj@k and Best@k), and to be a better start for RL. Here on chained modular arithmetic with chain of
// thought: an early run, a late run that continues from it (Experiment.initFrom), a sweep of alpha
// scored by sampling (pass@k, maj@k, Best@k, mean and variance of the per-problem pass rate), and a
// short GRPO run (Experiment.rl) from alpha = 1 and from the best interior alpha.
//   ./modeldsl run examples/wise_ft_reasoning.fsx [--quick] [--runs-dir DIR] [--threads N]
// Writes <runs>/wise-ft-reasoning-<time>/report.md with tables and PNG plots.
#load "../modeldsl.fsx"

open ModelDsl.Runtime.Studies
open ModelDsl.Runtime.Training
open ModelDsl.Runtime.Runs

type Settings =
    { Modulus: int; Steps: int; Width: int; Depth: int; Heads: int
      EarlySteps: int; LateSteps: int; Alphas: float list
      Problems: int; Samples: int; Ks: int list
      RlSteps: int; GroupSize: int; Prompts: int }

let full =
    { Modulus = 10; Steps = 4; Width = 64; Depth = 2; Heads = 4
      EarlySteps = 150; LateSteps = 1500; Alphas = [ 0.0; 0.25; 0.5; 0.75; 1.0 ]
      Problems = 128; Samples = 16; Ks = [ 1; 4; 16 ]
      RlSteps = 50; GroupSize = 8; Prompts = 16 }

let quick =
    { Modulus = 5; Steps = 3; Width = 16; Depth = 1; Heads = 2
      EarlySteps = 4; LateSteps = 6; Alphas = [ 0.0; 0.5; 1.0 ]
      Problems = 6; Samples = 4; Ks = [ 1; 4 ]
      RlSteps = 2; GroupSize = 4; Prompts = 2 }

let samplingSpec (s: Settings) =
    SamplingEvalSpec(Problems = s.Problems, Samples = s.Samples, Ks = ValueList.Of(Array.ofList s.Ks), Seed = 7L, BatchSize = 256)

let baseExperiment (s: Settings) (threads: int option) name steps =
    Experiment.pretrain name (Model.llama (vocab = s.Modulus + 1, width = s.Width, depth = s.Depth, heads = s.Heads) |> Model.maxSequenceLength (2 * s.Steps + 1))
    |> Experiment.task (Tasks.chainedArithmetic (modulus = s.Modulus, steps = s.Steps))
    |> Experiment.optimizer (AdamW(Lr = 3e-3, WeightDecay = 0.01))
    |> Experiment.schedule (Schedule.constant (warmup = 0.05))
    |> Experiment.budget (Budget.steps (int64 steps))
    |> Experiment.batch (globalBatch = 64)
    |> Experiment.eval (every = steps, batches = 2, problems = s.Problems)
    |> Experiment.checkpoint (every = 0, keep = 1)
    |> Experiment.seed 1
    |> Experiment.threads (defaultArg threads 2)

let scoreOf (spec: ExperimentSpec) (s: Settings) (source: ModelSource) =
    use model = ModelDsl.Runtime.FineTune.ModelLoader.Load(source, spec.Model)
    let task = ModelDsl.Runtime.Tasks.TaskFactory.Create(spec.Task, spec.Training.Seed)
    ModelDsl.Runtime.Eval.SamplingEvaluator.Evaluate(model, task, samplingSpec s)

let lastEval (run: string) =
    MetricsLog.Read(System.IO.Path.Combine(run, "metrics.jsonl"))
    |> Seq.filter (fun e -> string e["event"] = "eval")
    |> Seq.last

let study (context: StudyContext) =
    let s = if context.Quick then quick else full
    let folder = context.CreateFolder "wise-ft-reasoning"
    let threads = Option.ofNullable context.Threads
    let run name spec = Trainer.Run(Experiment.toSpecOrFail spec, TrainOptions(RunDirectory = System.IO.Path.Combine(folder, name)))

    // The early and the late checkpoint of one supervised run: the late run continues from the early one.
    let early = run "early" (baseExperiment s threads "early" s.EarlySteps)
    let lateSpec = baseExperiment s threads "late" s.LateSteps |> Experiment.initFrom (Source.run early.RunDirectory)
    let late = run "late" lateSpec
    printfn "early: %d steps, loss %.4f; late: +%d steps, loss %.4f" early.Steps early.FinalTrainLoss late.Steps late.FinalTrainLoss
    let early, late = Source.run early.RunDirectory, Source.run late.RunDirectory

    let sweep = [ for a in s.Alphas -> a, scoreOf lateSpec s (Source.interpolate early late a) ]
    let kMax = List.max s.Ks
    for a, r in sweep do
        printfn "alpha %.2f: pass@1 %.3f, pass@%d %.3f, maj@%d %.3f" a (r.At 1).PassAtK kMax (r.At kMax).PassAtK kMax (r.At kMax).MajorityAtK

    // GRPO from the late model and from the interior alpha with the best pass@kMax.
    let interior = sweep |> List.filter (fun (a, _) -> a > 0.0 && a < 1.0)
    let bestAlpha = if interior.IsEmpty then 0.5 else interior |> List.maxBy (fun (_, r) -> (r.At kMax).PassAtK) |> fst
    let rlFrom alpha =
        let spec =
            baseExperiment s threads (sprintf "rl-alpha-%.2f" alpha) s.RlSteps
            |> Experiment.initFrom (Source.interpolate early late alpha)
            |> Experiment.rl (RlSpec(GroupSize = s.GroupSize, PromptsPerStep = s.Prompts, MicroBatch = 64))
            |> Experiment.optimizer (AdamW(Lr = 1e-4, WeightDecay = 0.0))
            |> Experiment.eval (every = s.RlSteps, batches = 1, problems = s.Problems)
        let result = run (sprintf "rl-alpha-%.2f" alpha) spec
        alpha, lastEval result.RunDirectory
    let rl = [ rlFrom 1.0; rlFrom bestAlpha ]

    let report = StudyReport(folder, "WiSE-FT for reasoning: interpolating early and late fine-tuning checkpoints")
    report.Paragraph(
        sprintf "Chained sums mod %d over %d operands with chain of thought; Llama-style model, %d layers, width %d, %d heads; AdamW lr 3e-3, batch 64, seed 1. Early checkpoint after %d steps; the late run continues from it for %d steps (fresh optimizer). Each mix theta = (1 - alpha) early + alpha late is scored on %d held-out problems with %d samples each at temperature 1: unbiased pass@k, maj@k, Best@k by summed log-probability, and the mean and variance of the per-problem pass rate rho."
            s.Modulus s.Steps s.Depth s.Width s.Heads s.EarlySteps s.LateSteps s.Problems s.Samples) |> ignore
    report.Table(
        [ yield "alpha"
          for k in s.Ks do yield sprintf "pass@%d" k
          yield sprintf "maj@%d" kMax; yield sprintf "Best@%d" kMax; yield "mean rho"; yield "Var rho"; yield "distinct answers" ],
        [ for a, r in sweep ->
              [| yield StudyReport.Number a
                 for k in s.Ks do yield StudyReport.Number (r.At k).PassAtK
                 yield StudyReport.Number (r.At kMax).MajorityAtK; yield StudyReport.Number (r.At kMax).BestByLogProbabilityAtK
                 yield StudyReport.Number r.PassRates.Mean; yield StudyReport.Number r.PassRates.Variance
                 yield StudyReport.Number r.DistinctAnswerFraction |] ]) |> ignore
    report.Plot("pass-at-k.png", "pass@k against the interpolation weight alpha (0: early, 1: late)", "alpha", "pass@k",
                [ for k in s.Ks -> PlotSeries(sprintf "pass@%d" k, [| for a, _ in sweep -> a |], [| for _, r in sweep -> (r.At k).PassAtK |]) ]) |> ignore
    report.Paragraph(sprintf "GRPO for %d steps (G = %d, %d prompts per step, AdamW lr 1e-4), held-out pass@k of un-hinted samples at the end:" s.RlSteps s.GroupSize s.Prompts) |> ignore
    report.Table(
        [ "start (alpha)"; "greedy accuracy"; "pass@1"; sprintf "pass@%d" s.GroupSize ],
        [ for a, e in rl ->
              let value (key: string) = match e[key] with null -> nan | v -> v.GetValue<float>()
              [| StudyReport.Number a; StudyReport.Number (value "accuracy"); StudyReport.Number (value "pass@1")
                 StudyReport.Number (value (sprintf "pass@%d" s.GroupSize)) |] ]) |> ignore
    // The claim, checked on these numbers: some interior alpha has pass@kMax at least that of both endpoints.
    let passAt alpha = sweep |> List.find (fun (a, _) -> a = alpha) |> fun (_, r) -> (r.At kMax).PassAtK
    let best = if interior.IsEmpty then nan else interior |> List.map (fun (_, r) -> (r.At kMax).PassAtK) |> List.max
    let verdict =
        if best >= max (passAt 0.0) (passAt 1.0) + 0.01 then "reproduced"
        elif best >= max (passAt 0.0) (passAt 1.0) - 0.01 then "tie"
        else "not reproduced"
    report.Paragraph(
        sprintf "Claim (an interior alpha recovers pass@%d: at least 1 point above both endpoints): %s (best interior %s, early %s, late %s)."
            kMax verdict (StudyReport.Number best) (StudyReport.Number (passAt 0.0)) (StudyReport.Number (passAt 1.0))) |> ignore
    printfn "report: %s" (report.Save())
