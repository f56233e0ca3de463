// QuestA (arXiv 2507.13266, PAPERS.md §2): RL with partial-solution hints on problems the model
// cannot yet solve. A small Llama is pre-trained on chained modular sums with chain of thought (the
// running sums), mostly SHORT chains and a rare share of LONG ones, so long chains are in its
// distribution but almost never solved. Then, at equal RL budget (steps x prompts x group size):
//   no RL | GRPO on long chains | GRPO on long chains with QuestA hints (50%, then 25%) | GRPO on short chains.
// Evaluation is on held-out UN-HINTED long ("hard") and short ("easy") problems: pass@k, k = 1..32.
// Expected (paper): without hints nearly every hard group is all-wrong and learning stalls; with hints
// pass@1 and pass@k on un-hinted hard problems rise; easy-only RL raises pass@1 but not pass@k at large k.
//   ./modeldsl run examples/questa_hints.fsx [--quick] [--runs-dir DIR] [--threads N]
//   dotnet fsi examples/questa_hints.fsx [--quick]
// Writes <runs>/questa-hints-<time>/report.md with tables and PNG plots.
#load "../modeldsl.fsx"

open System
open ModelDsl.Core.Generation
open ModelDsl.Core.Rl
open ModelDsl.Core.Tasks
open ModelDsl.Runtime.Eval
open ModelDsl.Runtime.Model
open ModelDsl.Runtime.Optim
open ModelDsl.Runtime.Rl
open ModelDsl.Runtime.Studies
open ModelDsl.Runtime.Tasks
open ModelDsl.Runtime.Training

type Settings =
    { Modulus: int
      EasySteps: int
      HardSteps: int
      /// Share of long chains in the pre-training mixture.
      HardShare: float
      Width: int
      Depth: int
      Heads: int
      PretrainSteps: int
      PretrainBatch: int
      RlSteps: int
      Prompts: int
      Group: int
      RlLr: float
      EvalProblems: int
      /// Samples per evaluation problem (the largest k).
      EvalSamples: int
      /// Seed of the one pre-training run.
      PretrainSeed: int
      /// RL and evaluation seeds.
      Seeds: int list }

let full =
    { Modulus = 10; EasySteps = 4; HardSteps = 6; HardShare = 0.2; Width = 48; Depth = 2; Heads = 4
      PretrainSteps = 600; PretrainBatch = 48; RlSteps = 20; Prompts = 16; Group = 8; RlLr = 1e-3
      EvalProblems = 32; EvalSamples = 32; PretrainSeed = 1; Seeds = [ 1; 2 ] }

let quick =
    { Modulus = 10; EasySteps = 3; HardSteps = 6; HardShare = 0.1; Width = 32; Depth = 1; Heads = 2
      PretrainSteps = 30; PretrainBatch = 32; RlSteps = 2; Prompts = 4; Group = 4; RlLr = 1e-3
      EvalProblems = 8; EvalSamples = 32; PretrainSeed = 1; Seeds = [ 1 ] }

/// The RL arms; Hints: the curriculum (fraction, share of the RL steps), empty for none.
type Arm = { Name: string; Rl: bool; Hard: bool; Hints: (float * float) list }

let arms =
    [ { Name = "no RL"; Rl = false; Hard = true; Hints = [] }
      { Name = "GRPO hard, no hints"; Rl = true; Hard = true; Hints = [] }
      { Name = "GRPO hard + QuestA hints"; Rl = true; Hard = true; Hints = [ 0.5, 0.5; 0.25, 0.5 ] }
      { Name = "GRPO easy only"; Rl = true; Hard = false; Hints = [] } ]

let chain (s: Settings) steps = ChainedArithmetic(Modulus = s.Modulus, Steps = steps, ChainOfThought = true)

/// Room for the longest hinted prompt (problem, marker, half the solution, '=') and a full solution.
let maxLength (s: Settings) = 2 * (s.HardSteps + 2) + s.HardSteps

/// Vocabulary: the task's values and '=' plus the hint marker (HintTransform.MarkerFor).
let pretraining (s: Settings) (threads: int option) seed =
    Experiment.pretrain (sprintf "questa-pretrain-seed%d" seed) (Model.llama (vocab = s.Modulus + 2, width = s.Width, depth = s.Depth, heads = s.Heads))
    |> Experiment.model (fun m -> Ir.With(m, m.MaxSequenceLength, maxLength s))
    |> Experiment.task (Tasks.mixture [ "short", chain s s.EasySteps, 1.0 - s.HardShare; "long", chain s s.HardSteps, s.HardShare ])
    |> Experiment.optimizer (AdamW(Lr = 3e-3, WeightDecay = 0.01))
    |> Experiment.schedule (Schedule.warmupCosine (warmup = 0.05, minRatio = 0.1))
    |> Experiment.budget (Budget.steps s.PretrainSteps)
    |> Experiment.batch (globalBatch = s.PretrainBatch)
    |> Experiment.eval (every = 0, batches = 2, problems = 16)
    |> Experiment.checkpoint (every = 0, keep = 1)
    |> Experiment.seed seed
    |> Experiment.threads (defaultArg threads 2)
    |> Experiment.toSpecOrFail

/// A trainable copy of a model's weights.
let copyOf (model: LanguageModel) =
    let copy = ReferencePolicy.FrozenCopy model
    for p in copy.parameters () do p.requires_grad <- true
    copy.train ()
    copy

/// Pre-trains with Trainer.Run and keeps a copy of the final weights (the trainer disposes its own model).
let pretrain (spec: ExperimentSpec) (folder: string) =
    let mutable built : LanguageModel option = None
    let mutable kept : LanguageModel option = None
    let keep (_: EvalResult) = kept |> Option.iter (fun m -> m.Dispose()); kept <- Some (copyOf built.Value)
    let factory = TrainableModelFactory(fun m dtype device seed -> let t = Trainer.BuildLanguageModel(m, dtype, device, seed) in built <- Some (t.Module :?> LanguageModel); t)
    let result = Trainer.Run(spec, TrainOptions(RunsRoot = folder, OnEval = Action<EvalResult> keep), factory)
    kept.Value, result

/// A solution is right only when every running sum is (ITask.VerifyFullCompletion): the final sum alone
/// is a 1-in-m guess, which would make pass@k large at any k for a model that cannot add.
type FullChainReward(task: ITask) =
    interface IRewardFunction with
        member _.Score(problem: Problem, answer: ReadOnlySpan<int64>, _stopped: bool) =
            let right = task.VerifyFullCompletion(problem, answer)
            CompletionScore(right, true, (if right then 1.0 else 0.0))

/// pass@k (unbiased, k = 1..n) under the full-chain verifier, and pass@1 under the final-answer verifier.
type Evaluation = { PassAtK: float[]; FinalAnswerPass1: float; DistinctSolutions: float }

let evaluate (s: Settings) (model: LanguageModel) (task: ChainedArithmeticTask) seed =
    let problems = (task :> ITask).EvalProblems s.EvalProblems
    // QuestA's evaluation sampling: temperature 0.7, top-p 0.95, no hints.
    let sampling = SamplingSpec(Temperature = 0.7, TopP = 0.95)
    let samples = CompletionSampler.Sample(model, task, problems, s.EvalSamples, sampling, int64 (1000 + seed), 256)
    let counts = [ for p in samples -> struct (p.Count, (p.Completions |> Seq.filter (fun c -> (task :> ITask).VerifyFullCompletion(p.Problem, ReadOnlySpan<int64>(c))) |> Seq.length)) ]
    { PassAtK = [| for k in 1 .. s.EvalSamples -> PassAtK.Mean(counts, k) + 0.0 |] // + 0.0 turns the estimator's -0 into 0
      FinalAnswerPass1 = samples |> Seq.averageBy (fun p -> p.PassRate)
      DistinctSolutions = samples |> Seq.averageBy (fun p -> float (p.Completions |> Seq.map (fun c -> String.Join(",", c)) |> Seq.distinct |> Seq.length) / float p.Count) }

type Outcome =
    { Arm: Arm
      Seed: int
      Hard: Evaluation
      Easy: Evaluation
      Steps: RlStepMetrics list }

let rlSpec (s: Settings) (arm: Arm) =
    let spec = RlSpec(GroupSize = s.Group, PromptsPerStep = s.Prompts, MicroBatch = s.Prompts * s.Group)
    match arm.Hints with
    | [] -> spec
    | stages ->
        // Stage k holds for its share of the steps; the last takes the rest (so stage 2 continues from stage 1's model).
        let counts = stages |> List.map (fun (_, share) -> max 1L (int64 (Math.Round(share * float s.RlSteps))))
        let stages = List.map2 (fun (fraction, _) steps -> HintStage(fraction, steps)) stages counts
        Ir.With(spec, spec.Hints, HintSpec(Fraction = fst arm.Hints.Head, Curriculum = ValueList.Of(Array.ofList stages)))

let runArm (s: Settings) (pretrained: LanguageModel) (hard: ChainedArithmeticTask) (easy: ChainedArithmeticTask) (arm: Arm) seed =
    use policy = copyOf pretrained
    let steps =
        if not arm.Rl then []
        else
            let task = if arm.Hard then hard else easy
            use optimizer = OptimizerFactory.Create(AdamW(Lr = s.RlLr, WeightDecay = 0.0), policy.NamedParameters(), clipGradNorm = 1.0)
            use trainer = new RlTrainer(rlSpec s arm, policy, optimizer, task, int64 seed, reward = FullChainReward task)
            [ for _ in 1 .. s.RlSteps ->
                  let m = trainer.Step()
                  if m.Step % 10L = 0L || m.Step = int64 (s.RlSteps - 1) then
                      printfn "  %-26s seed %d step %3d: accuracy %.3f, zero-std groups %.2f, hinted %.2f, entropy %.3f"
                          arm.Name seed m.Step m.Accuracy m.ZeroStdGroupFraction m.HintedFraction m.Entropy
                  m ]
    { Arm = arm; Seed = seed; Hard = evaluate s policy hard seed; Easy = evaluate s policy easy seed; Steps = steps }

let mean (xs: float seq) = if Seq.isEmpty xs then nan else Seq.average xs

let study (context: StudyContext) =
    let s = if context.Quick then quick else full
    let folder = context.CreateFolder "questa-hints"
    let threads = Option.ofNullable context.Threads
    // One pre-trained model (the compute budget of this machine); the seeds vary RL sampling, the RL
    // problems and the evaluation samples.
    let spec = pretraining s threads s.PretrainSeed
    let pretrained, result = pretrain spec folder
    use pretrained = pretrained
    printfn "pre-training: %d steps, final train loss %.4f" result.Steps result.FinalTrainLoss
    let outcomes =
        [ for seed in s.Seeds do
              // Task seeds differ from the pre-training mixture's component seeds: RL problems and the
              // held-out evaluation problems (a separate stream of each task) are new to the model.
              let hard = ChainedArithmeticTask(chain s s.HardSteps, 7000 + seed)
              let easy = ChainedArithmeticTask(chain s s.EasySteps, 8000 + seed)
              for arm in arms do
                  let o = runArm s pretrained hard easy arm seed
                  printfn "%-26s seed %d: hard pass@1 %.3f pass@%d %.3f | easy pass@1 %.3f pass@%d %.3f"
                      arm.Name seed o.Hard.PassAtK[0] s.EvalSamples (Array.last o.Hard.PassAtK) o.Easy.PassAtK[0] s.EvalSamples (Array.last o.Easy.PassAtK)
                  yield o ]
    let ks = [| 1 .. s.EvalSamples |]
    let shownKs = [ 1; 2; 4; 8; 16; 32 ] |> List.filter (fun k -> k <= s.EvalSamples)
    let meanOver (arm: Arm) (value: Outcome -> float) = outcomes |> List.filter (fun o -> o.Arm = arm) |> List.map value |> mean
    let report = StudyReport(folder, "QuestA: RL with partial-solution hints on chained arithmetic")
    report.Paragraph(
        sprintf "Chained sums mod %d with chain of thought (the answer is every running sum). Pre-training: %d-layer Llama, width %d, %d heads, vocabulary %d (values, '=', the hint marker), %d AdamW steps (lr 3e-3, cosine), batch %d, pre-training seed %d, final training loss %.3f, on a mixture of %d-step chains (%.0f%%) and %d-step chains (%.0f%%). RL (every arm the same budget): %d steps x %d prompts x group %d, GRPO with group-normalised advantages, token-mean loss, clip 0.2, no KL, temperature 1, AdamW lr %g, no dynamic sampling (so the all-wrong groups are counted, not refilled). The reward is 1 when the WHOLE chain of running sums is right (the final sum alone is a 1-in-%d guess). Hints (QuestA): the hard prompt, the marker, the first 50%% (then 25%%, second half of the steps, continuing from the same model) of the reference running sums, then '=' again; the policy writes the whole solution. Evaluation: %d held-out problems per difficulty, %d samples each at temperature 0.7, top-p 0.95, NO hints; pass@k is the unbiased estimator. RL seeds: %s (a seed fixes RL sampling, the RL and evaluation problems and the evaluation samples; all start from the same pre-trained model)."
            s.Modulus s.Depth s.Width s.Heads (s.Modulus + 2) s.PretrainSteps s.PretrainBatch s.PretrainSeed result.FinalTrainLoss s.EasySteps (100.0 * (1.0 - s.HardShare)) s.HardSteps (100.0 * s.HardShare)
            s.RlSteps s.Prompts s.Group s.RlLr s.Modulus s.EvalProblems s.EvalSamples (s.Seeds |> List.map string |> String.concat ", ")) |> ignore
    report.Paragraph(sprintf "Reproduce: `./modeldsl run examples/questa_hints.fsx%s`." (if context.Quick then " --quick" else "")) |> ignore
    report.Table(
        [ "arm"; "seed"; "hard pass@1"; "hard pass@8"; sprintf "hard pass@%d" s.EvalSamples; "easy pass@1"; sprintf "easy pass@%d" s.EvalSamples
          "hard final-answer pass@1"; "hard distinct solutions / n"; "mean zero-std group fraction" ],
        [ for o in outcomes ->
              [| o.Arm.Name; string o.Seed; StudyReport.Number(o.Hard.PassAtK[0], "F3"); StudyReport.Number(o.Hard.PassAtK[min 8 s.EvalSamples - 1], "F3")
                 StudyReport.Number(Array.last o.Hard.PassAtK, "F3"); StudyReport.Number(o.Easy.PassAtK[0], "F3"); StudyReport.Number(Array.last o.Easy.PassAtK, "F3")
                 StudyReport.Number(o.Hard.FinalAnswerPass1, "F3"); StudyReport.Number(o.Hard.DistinctSolutions, "F3")
                 (if o.Steps.IsEmpty then "-" else StudyReport.Number(mean [ for m in o.Steps -> m.ZeroStdGroupFraction ], "F3")) |] ]) |> ignore
    report.Paragraph "Mean over seeds, pass@k on held-out un-hinted problems:" |> ignore
    for difficulty, pick in [ "hard", (fun o -> o.Hard); "easy", (fun o -> o.Easy) ] do
        report.Table(
            [ yield "arm"; for k in shownKs -> sprintf "%s pass@%d" difficulty k ],
            [ for arm in arms -> [| yield arm.Name; for k in shownKs -> StudyReport.Number(meanOver arm (fun o -> (pick o).PassAtK[k - 1]), "F3") |] ]) |> ignore
        report.Plot(sprintf "pass-at-k-%s.png" difficulty, sprintf "pass@k on held-out un-hinted %s problems (%d-step chains), mean over seeds" difficulty (if difficulty = "hard" then s.HardSteps else s.EasySteps),
                    "k", "pass@k",
                    [ for arm in arms -> PlotSeries(arm.Name, ks |> Array.map float, ks |> Array.map (fun k -> meanOver arm (fun o -> (pick o).PassAtK[k - 1]))) ],
                    log2X = true) |> ignore
    let rlArms = arms |> List.filter (fun a -> a.Rl)
    let curve (arm: Arm) (value: RlStepMetrics -> float) =
        let runs = outcomes |> List.filter (fun o -> o.Arm = arm)
        PlotSeries(arm.Name, Array.init s.RlSteps float, Array.init s.RlSteps (fun i -> runs |> List.map (fun o -> value o.Steps[i]) |> mean))
    report.Plot("zero-std-groups.png", "fraction of groups whose rewards are all equal (no learning signal), mean over seeds", "RL step", "zero-std group fraction",
                [ for arm in rlArms -> curve arm (fun m -> m.ZeroStdGroupFraction) ]) |> ignore
    report.Plot("training-accuracy.png", "training reward (accuracy of the sampled completions; hinted prompts for the hint arm)", "RL step", "accuracy",
                [ for arm in rlArms -> curve arm (fun m -> m.Accuracy) ]) |> ignore
    report.Plot("entropy.png", "policy entropy per token at temperature 1", "RL step", "entropy (nats)", [ for arm in rlArms -> curve arm (fun m -> m.Entropy) ]) |> ignore
    report.Plot("completion-length.png", "mean completion length (no stop token: every completion is a full chain)", "RL step", "tokens",
                [ for arm in rlArms -> curve arm (fun m -> m.CompletionLengthMean) ]) |> ignore
    report.Table(
        [ "arm"; "zero-std groups, first 25% of steps"; "last 25%"; "train accuracy, first 25%"; "last 25%"; "entropy first step"; "entropy last step" ],
        [ for arm in rlArms ->
              let runs = outcomes |> List.filter (fun o -> o.Arm = arm)
              let quarter = max 1 (s.RlSteps / 4)
              let over (pick: RlStepMetrics list -> RlStepMetrics list) value = runs |> List.collect (fun o -> pick o.Steps) |> List.map value |> mean
              let first = List.take quarter
              let last (l: RlStepMetrics list) = List.skip (l.Length - quarter) l
              [| arm.Name
                 StudyReport.Number(over first (fun m -> m.ZeroStdGroupFraction), "F3"); StudyReport.Number(over last (fun m -> m.ZeroStdGroupFraction), "F3")
                 StudyReport.Number(over first (fun m -> m.Accuracy), "F3"); StudyReport.Number(over last (fun m -> m.Accuracy), "F3")
                 StudyReport.Number(over (List.take 1) (fun m -> m.Entropy), "F3"); StudyReport.Number(over (fun l -> [ List.last l ]) (fun m -> m.Entropy), "F3") |] ]) |> ignore
    // The paper's claims, checked on the means over seeds.
    let base', noHints, hints, easyOnly = arms[0], arms[1], arms[2], arms[3]
    let hardAt arm k = meanOver arm (fun o -> o.Hard.PassAtK[k - 1])
    let kMax = s.EvalSamples
    let zeroStd arm = meanOver arm (fun o -> mean [ for m in o.Steps -> m.ZeroStdGroupFraction ])
    let claim text ok = sprintf "%s: %s." text (if ok then "reproduced" else "not reproduced")
    let margin = 0.02
    report.Paragraph(
        String.concat " "
            [ claim (sprintf "Claim 1 (without hints nearly every hard group is all-wrong: mean zero-std fraction %.3f >= 0.8)" (zeroStd noHints)) (zeroStd noHints >= 0.8)
              claim (sprintf "Claim 2 (without hints learning stalls: hard pass@1 %.3f vs %.3f before RL, within %.2f)" (hardAt noHints 1) (hardAt base' 1) margin)
                  (abs (hardAt noHints 1 - hardAt base' 1) <= margin)
              claim (sprintf "Claim 3 (hints raise un-hinted hard pass@1: %.3f vs %.3f without hints and %.3f before RL)" (hardAt hints 1) (hardAt noHints 1) (hardAt base' 1))
                  (hardAt hints 1 > hardAt noHints 1 + margin && hardAt hints 1 > hardAt base' 1 + margin)
              claim (sprintf "Claim 4 (hints raise un-hinted hard pass@%d: %.3f vs %.3f without hints and %.3f before RL)" kMax (hardAt hints kMax) (hardAt noHints kMax) (hardAt base' kMax))
                  (hardAt hints kMax > hardAt noHints kMax + margin && hardAt hints kMax > hardAt base' kMax + margin)
              claim (sprintf "Claim 5 (easy-only RL raises hard pass@1, %.3f vs %.3f, but not hard pass@%d, %.3f vs %.3f)" (hardAt easyOnly 1) (hardAt base' 1) kMax (hardAt easyOnly kMax) (hardAt base' kMax))
                  (hardAt easyOnly 1 > hardAt base' 1 + margin && hardAt easyOnly kMax <= hardAt base' kMax + margin) ]) |> ignore
    printfn "report: %s" (report.Save())

#if !MODELDSL_CLI
runStudy study
#endif
