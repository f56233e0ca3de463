/// Lowering is pinned: the JSON of the examples' experiments and of DSL expressions covering every
/// optimizer, task, gate, MoE option, position, schedule, budget and precision must equal the files
/// under fixtures/lowering byte for byte. The files were written from the DSL's earlier F# mirror types
/// (which lowered to the IR); the same expressions in today's DSL must still give the same JSON.
/// MODELDSL_WRITE_LOWERING_FIXTURES=1 rewrites the files (only when the IR's JSON changes on purpose).
module ModelDsl.Tests.LoweringFixtures

open System.IO
open Expecto
open ModelDsl
open ModelDsl.Core.Json

let private fixtureFolder =
    let rec up (directory: DirectoryInfo) =
        if isNull directory then failwith "no repository root above the test assembly"
        elif File.Exists(Path.Combine(directory.FullName, "modeldsl.fsx")) then directory.FullName
        else up directory.Parent
    Path.Combine(up (DirectoryInfo System.AppContext.BaseDirectory), "tests", "ModelDsl.Tests", "fixtures", "lowering")

let private small name = Experiment.pretrain name (Model.llama (vocab = 64, width = 32, depth = 2, heads = 4))

let private json (experiment: ExperimentSpec) = SpecJson.Serialize experiment

// The examples' experiment builders, as the scripts write them, at their quick and full settings.

let private quickstart =
    Experiment.pretrain "quickstart-parity" (Model.llama (vocab = 4, width = 64, depth = 2, heads = 4))
    |> Experiment.task (Tasks.sparseParity (bits = 20, secret = 3, cot = true))
    |> Experiment.optimizer (AdamW(Lr = 3e-3, WeightDecay = 0.01))
    |> Experiment.schedule (Schedule.warmupCosine (warmup = 0.05, minRatio = 0.1))
    |> Experiment.budget (Budget.steps 2000)
    |> Experiment.batch (globalBatch = 64)
    |> Experiment.eval (every = 250, problems = 256)
    |> Experiment.seed 1
    |> Experiment.threads 2

let private cotParity (bits, width, depth, steps, evalEvery, problems) k cot exponent =
    let name = sprintf "parity-n%d-k%d-%s-N%d" bits k (if cot then "cot" else "direct") (1 <<< exponent)
    Experiment.pretrain name (Model.llama (vocab = 4, width = width, depth = depth, heads = 4))
    |> Experiment.task (Tasks.sparseParity (bits = bits, secret = k, cot = cot, trainingExamples = (1L <<< exponent)))
    |> Experiment.optimizer (AdamW(Lr = 3e-3, WeightDecay = 0.01))
    |> Experiment.schedule (Schedule.constant (warmup = 0.05))
    |> Experiment.budget (Budget.steps (int64 steps))
    |> Experiment.batch (globalBatch = 64)
    |> Experiment.eval (every = evalEvery, batches = 2, problems = problems)
    |> Experiment.checkpoint (every = 0, keep = 1)
    |> Experiment.seed 1
    |> Experiment.threads 2

let private gatedAttention (width, depth, heads, length, steps, batch) (gate: GateSpec option, extraHidden) lr seed =
    let hidden = DenseFeedForward.DefaultHidden(width, Activation.SwiGlu) + extraHidden
    let attention = match gate with Some gate -> Attention.gate gate | None -> id
    Experiment.pretrain (sprintf "gated-lr%g-seed%d" lr seed) (Model.llama (vocab = 256, width = width, depth = depth, heads = heads))
    |> Experiment.model (Model.attention attention >> Model.feedForward (FeedForward.swiGlu hidden))
    |> Experiment.task (Tasks.textCorpus ("corpus.txt", length = length))
    |> Experiment.optimizer (AdamW(Lr = lr, WeightDecay = 0.1))
    |> Experiment.schedule (Schedule.warmupCosine (warmup = 0.05, minRatio = 0.1))
    |> Experiment.budget (Budget.steps (int64 steps))
    |> Experiment.batch (globalBatch = batch)
    |> Experiment.eval (every = 0, batches = 4)
    |> Experiment.checkpoint (every = 0, keep = 1)
    |> Experiment.seed seed
    |> Experiment.threads 2

let private moeMixture =
    Tasks.mixture (
        [ "parity", Tasks.sparseParity (bits = 8, secret = 2), 1.0
          "arithmetic", Tasks.chainedArithmetic (7, 4), 1.0
          "flip-flop", Tasks.flipFlop 12, 1.0
          "permutations", Tasks.permutationComposition (5, 8), 1.0 ],
        grouping = MixtureGrouping.PerMicroBatch)

let private moeBalance (width, depth, experts, topK, expertHidden, steps, microBatch, evalBatches) coefficient isGlobal seed =
    Experiment.pretrain
        (sprintf "moe-%b-c%g-seed%d" isGlobal coefficient seed)
        (Model.llama (vocab = moeMixture.VocabularySize(), width = width, depth = depth, heads = 4)
         |> Model.feedForward (
             Moe.topK (experts = experts, k = topK)
             |> Moe.expertHidden expertHidden
             |> (if isGlobal then Moe.globalBalance coefficient else Moe.microBalance coefficient)))
    |> Experiment.task moeMixture
    |> Experiment.optimizer (AdamW(Lr = 3e-3, WeightDecay = 0.0))
    |> Experiment.schedule (Schedule.constant (warmup = 0.0))
    |> Experiment.budget (Budget.steps (int64 steps))
    |> Experiment.batch (globalBatch = 4 * microBatch, microBatch = microBatch)
    |> Experiment.clip 1.0
    |> Experiment.eval (every = steps, batches = evalBatches)
    |> Experiment.checkpoint (every = 0, keep = 1)
    |> Experiment.seed seed

let private pathStateTracking (width, depth, heads, problems) (train: TaskSpec, steps, longest) (position: PositionSpec) =
    Experiment.pretrain "state" (Model.llama (vocab = 8, width = width, depth = depth, heads = heads)
                                 |> Model.attention (Attention.position position)
                                 |> Model.maxSequenceLength longest)
    |> Experiment.task train
    |> Experiment.optimizer (AdamW(Lr = 3e-3, WeightDecay = 0.01))
    |> Experiment.schedule (Schedule.constant (warmup = 0.05))
    |> Experiment.budget (Budget.steps (int64 steps))
    |> Experiment.batch (globalBatch = 32)
    |> Experiment.eval (every = steps, batches = 1, problems = problems)
    |> Experiment.checkpoint (every = 0, keep = 1)
    |> Experiment.seed 1
    |> Experiment.threads 2

let private taskGeneralization (bits, secret, demonstrations, steps, evalEvery, problems, width, depth) cot trainingTasks =
    Experiment.pretrain "icl" (Model.llama (vocab = 4, width = width, depth = depth, heads = 4))
    |> Experiment.task (Tasks.parityInContext (bits = bits, secret = secret, trainingTasks = trainingTasks,
                                               demonstrations = demonstrations, cot = cot, splitSeed = 1))
    |> Experiment.optimizer (AdamW(Lr = 3e-3, WeightDecay = 0.01))
    |> Experiment.schedule (Schedule.constant (warmup = 0.05))
    |> Experiment.budget (Budget.steps (int64 steps))
    |> Experiment.batch (globalBatch = 64)
    |> Experiment.eval (every = evalEvery, batches = 2, problems = problems)
    |> Experiment.checkpoint (every = 0, keep = 1)
    |> Experiment.seed 1
    |> Experiment.threads 2

let private optimizerSweep quick =
    let baseExperiment =
        Experiment.pretrain "sources-lm" (Model.llama (vocab = 256, width = 16, depth = (if quick then 1 else 2), heads = 4))
        |> Experiment.task (Tasks.textCorpus ("corpus.txt", length = 64, validationFraction = 0.1))
        |> Experiment.batch (globalBatch = 16)
        |> Experiment.eval (every = (if quick then 10 else 50), batches = (if quick then 2 else 8), problems = 0)
        |> Experiment.checkpoint (every = 200)
        |> Experiment.seed 1
        |> Experiment.threads (if quick then 1 else 2)
    let tuned label optimizer schedule axes =
        baseExperiment |> Experiment.optimizer optimizer |> Experiment.schedule schedule |> Sweep.coordinateDescent axes |> Sweep.label label
    let axesFor lrScale decays =
        if quick then [ Axis.lr [ lrScale; 3.0 * lrScale ] ]
        else [ Axis.lr [ for f in [ 0.5; 1.0; 2.0; 4.0; 8.0 ] -> f * lrScale ]; Axis.weightDecay decays ]
    let cosine = Schedule.warmupCosine (warmup = 0.05, minRatio = 0.0)
    let wsd = Schedule.wsd (warmup = 0.0, decayFraction = 0.8, minRatio = 0.0)
    Sweep.compare "optimizer-sweep" [
        yield tuned "adamW" (AdamW()) cosine (axesFor 8e-3 [ 0.0; 0.1 ])
        yield tuned "muon" (Muon()) wsd (axesFor 1e-2 [ 0.0; 0.1 ])
        if not quick then
            yield tuned "soap" (Soap()) cosine (axesFor 8e-3 [ 0.0; 0.1 ])
            yield tuned "lion" (Lion()) cosine (axesFor 1e-3 [ 0.1; 0.7 ])
    ]
    |> Sweep.ratios (if quick then [ 0.25; 0.5; 1.0 ] else [ 1.0; 2.0; 4.0 ])
    |> Sweep.name (if quick then "optimizer-sweep-quick" else "optimizer-sweep")

let private exampleCases =
    [ "example-quickstart", json quickstart
      for label, settings in [ "quick", (8, 32, 1, 40, 20, 64); "full", (20, 64, 2, 600, 100, 256) ] do
          for cot in [ true; false ] do
              $"example-cot-parity-{label}-{cot}", json (cotParity settings 3 cot 6)
      for label, settings in [ "quick", (48, 1, 4, 32, 8, 8); "full", (48, 2, 4, 64, 300, 16) ] do
          for arm, gate, extra in [ "baseline", None, 16; "g1", Some Gate.g1, 0; "g5", Some Gate.g5, 0 ] do
              $"example-gated-attention-{label}-{arm}", json (gatedAttention settings (gate, extra) 3e-2 2)
      for label, settings in [ "quick", (32, 1, 4, 2, 16, 6, 4, 1); "full", (48, 2, 8, 2, 32, 300, 16, 4) ] do
          for isGlobal in [ true; false ] do
              $"example-moe-isGlobal-balance-{label}-{isGlobal}", json (moeBalance settings 1e-2 isGlobal 3)
      for label, (width, depth, heads, problems, pairs, evalPairs, steps) in [ "quick", (16, 1, 2, 16, 6, 12, 20); "full", (32, 2, 2, 200, 16, 64, 300) ] do
          for encoding, position in [ "path", Position.path; "rope", Position.rope; "nope", Position.noPosition ] do
              let flipFlop = Tasks.flipFlop (pairs = pairs, evalPairs = evalPairs)
              let longest = flipFlop.EvalSequenceLength()
              $"example-path-flip-flop-{label}-{encoding}", json (pathStateTracking (width, depth, heads, problems) (flipFlop, steps, longest) position)
          let s3 = Tasks.permutationComposition (elements = 3, length = 6, evalLength = 12)
          $"example-path-s3-{label}", json (pathStateTracking (width, depth, heads, problems) (s3, steps, 2 * 12 + 1) Position.path)
      for label, settings in [ "quick", (6, 2, 2, 30, 15, 32, 32, 1); "full", (10, 2, 3, 500, 100, 128, 64, 2) ] do
          for cot in [ true; false ] do
              $"example-task-generalization-{label}-{cot}", json (taskGeneralization settings cot 8)
      for quick in [ true; false ] do
          $"example-optimizer-sweep-{quick}", SpecJson.Serialize(Sweep.lower (optimizerSweep quick)) ]

let private optimizerCases =
    [ "optimizer-adamW", AdamW(Lr = 0.01, WeightDecay = 0.0, Beta1 = 0.8, Beta2 = 0.99, Eps = 1e-6) :> OptimizerSpec
      "optimizer-nAdamW", NAdamW(Lr = 2e-3, Beta2 = 0.98)
      "optimizer-mars", Mars(Gamma = 0.05, Eps = 1e-7)
      "optimizer-cautious", Cautious(MaskMeanFloor = 1e-2, WeightDecay = 0.2)
      "optimizer-lion", Lion(Lr = 1e-4, Beta1 = 0.95)
      "optimizer-adamMini", AdamMini(Eps = 1e-6)
      "optimizer-muon", Muon(Momentum = 0.9, Nesterov = false, NewtonSchulzSteps = 3, AdamLrRatio = 0.2, AdamEps = 1e-7)
      "optimizer-scion", Scion(SignumLrRatio = 0.5, NewtonSchulzSteps = 4)
      "optimizer-soap", Soap(ShampooBeta = 0.9, PreconditionFrequency = 5, MaxPreconditionerDim = 256)
      "optimizer-sophiaH", SophiaH(Gamma = 0.02, HessianInterval = 5)
      "optimizer-kron", Kron(PreconditionerLr = 0.2, MaxTriangularDim = 64, FlatStart = 10, MinUpdateProbability = 0.1) ]
    |> List.map (fun (name, optimizer) -> name, json (small name |> Experiment.optimizer optimizer))

let private taskCases =
    let inContext = Tasks.parityInContext (bits = 10, secret = 2, trainingTasks = 23, demonstrations = 6, cot = false, splitSeed = 4)
    let sums = Tasks.chainedArithmetic (7, 3, cot = false)
    [ "task-sparse-parity", Tasks.sparseParity (bits = 12, secret = 2, cot = true, taskSeed = 5, secretIndices = [ 1; 7 ], trainingExamples = 1000L)
      "task-sparse-parity-defaults", Tasks.sparseParity (bits = 8, secret = 3)
      "task-text-corpus", Tasks.textCorpus ("data/shakespeare.txt", length = 64, validationFraction = 0.2)
      "task-parity-in-context", inContext
      "task-permutation-composition", Tasks.permutationComposition (5, 16, evalLength = 32)
      "task-flip-flop", Tasks.flipFlop (16, evalPairs = 32, ignoreProbability = 0.5)
      "task-chained-arithmetic", sums
      "task-mixture", Tasks.mixture [ "sums", sums, 2.0; "icl", inContext, 1.0 ]
      "task-mixture-per-micro-batch", Tasks.mixture ([ "sums", sums, 2.0; "flip", Tasks.flipFlop 8, 1.0 ], grouping = MixtureGrouping.PerMicroBatch) ]
    |> List.map (fun (name, task) -> name, json (small name |> Experiment.task task))

let private modelCases =
    let withAttention name edit = name, json (small name |> Experiment.model (Model.attention edit))
    let withFeedForward name feedForward = name, json (small name |> Experiment.model (Model.feedForward feedForward))
    [ withAttention "gate-g1" (Attention.gate Gate.g1)
      withAttention "gate-g2" (Attention.gate Gate.g2)
      withAttention "gate-g3" (Attention.gate Gate.g3)
      withAttention "gate-g4" (Attention.gate Gate.g4)
      withAttention "gate-g5" (Attention.gate Gate.g5)
      withAttention "gate-g1-headwise" (Attention.gate Gate.g1Headwise)
      withAttention "gate-variant" (Attention.gate (Gate.g1 |> Gate.at GatePosition.G3 |> Gate.headwise |> Gate.shared |> Gate.silu |> Gate.additive))
      withAttention "gate-removed" (Attention.gate Gate.g1 >> Attention.noGate)
      withAttention "position-rope" (Attention.position Position.rope)
      withAttention "position-rope-theta" (Attention.position (Position.ropeTheta 500000.0))
      withAttention "position-none" (Attention.position Position.noPosition)
      withAttention "position-path" (Attention.position Position.path)
      withAttention "position-path-fox" (Attention.position Position.pathFox)
      withAttention "position-path-settings" (Attention.position (PathPosition(LowRank = System.Nullable(), ShortConvKernel = 0)))
      withAttention "attention-options" (Attention.heads 8 >> Attention.kvHeads 2 >> Attention.headDim 8 >> Attention.qkNorm >> Attention.bias)
      withFeedForward "moe-defaults" (Moe.topK (experts = 8, k = 2))
      withFeedForward "moe-isGlobal" (Moe.topK (experts = 8, k = 2) |> Moe.globalBalance 1e-3)
      withFeedForward "moe-all-options"
          (Moe.topK (experts = 4, k = 1) |> Moe.microBalance 1e-2 |> Moe.expertHidden 48 |> Moe.shared (count = 2, hidden = 16)
           |> Moe.capacity 1.25 |> Moe.zLoss 1e-3 |> Moe.unnormalizedTopK)
      withFeedForward "moe-dropless" (Moe.topK (experts = 4, k = 1) |> Moe.capacity 2.0 |> Moe.dropless)
      withFeedForward "dense-default" FeedForward.dense
      withFeedForward "dense-gelu-bias" (FeedForward.gelu 96 |> FeedForward.bias)
      withFeedForward "dense-relu" (FeedForward.relu 64)
      withFeedForward "dense-edits" (FeedForward.swiGlu 80 |> FeedForward.hidden 96 |> FeedForward.activation Activation.Gelu)
      "model-per-layer",
      json (
          small "model-per-layer"
          |> Experiment.model (
              Model.layer 0 (Block.attention (Attention.qkNorm >> Attention.position (Position.ropeTheta 500000.0)))
              >> Model.everyNth 2 (Block.feedForward (Moe.topK (experts = 4, k = 2)))
              >> Model.layers (fun i -> i >= 1) (Block.mapFeedForward id >> Block.norm (Norm.rmsEps 1e-6))
              >> Model.append [ Block.defaults |> Block.attention (Attention.heads 2) ]
              >> Model.normEps 1e-5
              >> Model.finalNorm (Norm.rms |> Norm.eps 1e-4)
              >> Model.tiedHead false
              >> Model.init (InitSpec(Std = 0.01, EmbeddingStd = 0.5, ScaleResidualOutputs = false))
              >> Model.maxSequenceLength 128
              >> Model.vocab 100
              >> Model.width 48))
      "model-of-blocks", json (Experiment.pretrain "blocks" (Model.ofBlocks (256, 256, [ Block.defaults ])))
      "model-llama-gqa", json (Experiment.pretrain "gqa" (Model.llama (vocab = 100, width = 64, depth = 3, heads = 8, kvHeads = 2))) ]

let private trainingCases =
    let cases =
        [ "schedule-constant", Experiment.schedule (Schedule.constant ())
          "schedule-constant-warmup", Experiment.schedule (Schedule.constant (warmup = 0.1))
          "schedule-cosine", Experiment.schedule (Schedule.warmupCosine ())
          "schedule-cosine-settings", Experiment.schedule (Schedule.warmupCosine (warmup = 0.02, minRatio = 0.3))
          "schedule-wsd", Experiment.schedule (Schedule.wsd ())
          "schedule-wsd-settings", Experiment.schedule (Schedule.wsd (warmup = 0.1, decayFraction = 0.3, minRatio = 0.05))
          "budget-steps", Experiment.budget (Budget.steps 600L)
          "budget-tokens", Experiment.budget (Budget.tokens 1_000_000L)
          "budget-chinchilla", Experiment.budget (Budget.chinchilla 4.0)
          "precision-float32", Experiment.precision Precision.Float32
          "precision-float64", Experiment.precision Precision.Float64
          "precision-bfloat16-mixed", Experiment.precision Precision.BFloat16Mixed
          "training-all",
          Experiment.batch (globalBatch = 32, microBatch = 8) >> Experiment.clip 0.5
          >> Experiment.eval (every = 50, batches = 2, problems = 64, attentionStatistics = true)
          >> Experiment.checkpoint (every = 200, keep = 3) >> Experiment.seed 7 >> Experiment.device "cuda:1" >> Experiment.threads 2
          "training-no-clip", Experiment.noClip >> Experiment.batch (globalBatch = 48) >> Experiment.eval 10 >> Experiment.checkpoint 20
          "training-renamed", Experiment.name "renamed" >> Experiment.device "auto" ]
    [ for name, edit in cases -> name, json (small name |> edit) ]

/// vlm_captioning.fsx's experiments as the script writes them.
let private vlmCaptioning =
    Experiment.pretrain "vlm-captioning" (Model.llama (vocab = SceneTaskSpec.Vocabulary, width = 32, depth = 2, heads = 2) |> Model.maxSequenceLength 32)
    |> Experiment.vision (Vision.encoder (imageSize = 32, patchSize = 8, width = 32, depth = 1, heads = 2, hidden = 64) |> Vision.prefixTokens 16)
    |> Experiment.task (Tasks.scenes (questionFraction = 0.5, textOnlyEvery = 4))
    |> Experiment.optimizer (AdamW(Lr = 3e-3, WeightDecay = 0.0))
    |> Experiment.schedule (Schedule.warmupCosine (warmup = 0.05, minRatio = 0.1))
    |> Experiment.budget (Budget.steps 600L)
    |> Experiment.batch (globalBatch = 32)
    |> Experiment.eval (every = 200, batches = 4, problems = 200)
    |> Experiment.seed 1
    |> Experiment.threads 2

let private vlmPreference (objective: PreferenceObjective) =
    vlmCaptioning
    |> Experiment.name "vlm-preference"
    |> Experiment.initFrom (Source.run "runs/vlm-captioning")
    |> Experiment.preference objective
    |> Experiment.optimizer (AdamW(Lr = 1e-3, WeightDecay = 0.0))
    |> Experiment.schedule (Schedule.constant ())
    |> Experiment.budget (Budget.steps 100L)
    |> Experiment.batch (globalBatch = 16)
    |> Experiment.eval (every = 50, batches = 4, problems = 200)

let private visionCases =
    let tiny name = Experiment.pretrain name (Model.llama (vocab = 30, width = 16, depth = 1, heads = 2)) |> Experiment.task (Tasks.scenes ())
    [ "example-vlm-captioning", json vlmCaptioning
      "example-vlm-preference-svco", json (vlmPreference (Preference.svco (beta = 0.1)))
      "vision-encoder-defaults", json (tiny "vision-defaults" |> Experiment.vision (Vision.encoder ()))
      "vision-encoder-options",
      json (
          tiny "vision-options"
          |> Experiment.vision (
              Vision.encoder (imageSize = 16, patchSize = 4, width = 24, depth = 2, heads = 3, hidden = 48, channels = 1)
              |> Vision.projector ProjectorKind.Linear |> Vision.prefixTokens 4 |> Vision.freezeEncoder |> Vision.freezeProjector
              |> Vision.normEps 1e-5 |> Vision.initStd 0.05))
      "vision-encoder-mlp-projector",
      json (tiny "vision-mlp" |> Experiment.vision (Vision.encoder (width = 16) |> Vision.projectorHidden 40 |> Vision.feedForward (DenseFeedForward(Activation = Activation.Relu))))
      "task-scenes",
      json (small "task-scenes" |> Experiment.task (Tasks.scenes (priorStrength = 0.9, heldOutFraction = 0.3, questionFraction = 0.25, textOnlyEvery = 0,
                                                                  contrastKinds = [ ContrastKind.Color; ContrastKind.Count ])))
      "preference-svco-terms", json (vlmPreference (Preference.svco (beta = 0.2, loserReject = 0.0, winnerAttend = 0.5)))
      "preference-text-dpo", json (vlmPreference (Preference.textDpo (beta = 0.3)))
      "preference-image-dpo", json (vlmPreference (Preference.imageDpo ()))
      "preference-record", json (vlmPreference (SvcoSpec(BetaWinnerReject = 0.05))) ]

/// Every pinned case: file name (without .json) and the JSON the DSL lowers it to.
let cases = exampleCases @ optimizerCases @ taskCases @ modelCases @ trainingCases @ visionCases

[<Tests>]
let tests =
    testList "lowering fixtures" [
        test "case names are unique" {
            Expect.equal (cases |> List.map fst |> List.distinct |> List.length) cases.Length "unique"
        }
        test "every case lowers to its fixture byte for byte" {
            if System.Environment.GetEnvironmentVariable "MODELDSL_WRITE_LOWERING_FIXTURES" = "1" then
                Directory.CreateDirectory fixtureFolder |> ignore
                for name, text in cases do File.WriteAllText(Path.Combine(fixtureFolder, name + ".json"), text)
            let files = Directory.GetFiles(fixtureFolder, "*.json") |> Array.map Path.GetFileNameWithoutExtension |> Set.ofArray
            Expect.equal files (cases |> List.map fst |> Set.ofList) "one fixture per case, no stale fixtures"
            for name, text in cases do
                Expect.equal text (File.ReadAllText(Path.Combine(fixtureFolder, name + ".json"))) name
        }
    ]
