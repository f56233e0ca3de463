module ModelDsl.Tests.LoweringTests

open Expecto
open ModelDsl
open ModelDsl.Core
open ModelDsl.Core.Model
open ModelDsl.Core.Tasks
open ModelDsl.Core.Training

let private expectOk result =
    match result with
    | Ok spec -> spec
    | Error errors -> failtestf "expected a valid spec, got %A" errors

/// The reading from DESIGN.md, with today's names.
let designExample () =
    let model =
        Model.llama (vocab = 512, width = 256, depth = 4, heads = 4)
        |> Model.attention (Attention.kvHeads 2 >> Attention.position Position.noPosition)
        |> Model.everyNth 2 (Block.feedForward (FeedForward.swiGlu 768))
    Experiment.pretrain "parity" model
    |> Experiment.task (Tasks.sparseParity (bits = 20, secret = 3, cot = true))
    |> Experiment.optimizer (AdamW(Lr = 3e-3))
    |> Experiment.schedule (Schedule.warmupCosine (warmup = 0.05, minRatio = 0.1))
    |> Experiment.budget (Budget.steps 600)
    |> Experiment.batch (globalBatch = 64, microBatch = 32)

[<Tests>]
let tests =
    testList "DSL lowering" [
        test "DSL defaults equal the IR's defaults" {
            let dsl = Experiment.pretrain "experiment" (Model.ofBlocks (256, 256, [ Block.defaults ]))
            let ir = ExperimentSpec(Model = ModelSpec(Blocks = ValueList.Of(BlockSpec())), Task = SparseParity())
            Expect.equal dsl ir "defaults"
        }

        test "Model.llama equals ModelSpec.Llama" {
            let dsl = Model.llama (vocab = 100, width = 64, depth = 3, heads = 8, kvHeads = 2)
            Expect.equal dsl (ModelSpec.Llama(100, 64, 3, 8, 2)) "llama"
        }

        test "the design example lowers to a heterogeneous stack" {
            let spec = designExample () |> Experiment.toSpec |> expectOk
            let attention = AttentionSpec(Heads = 4, KvHeads = 2, Position = NoPosition())
            let plain = BlockSpec(Attention = attention)
            let wide = BlockSpec(Attention = attention, FeedForward = DenseFeedForward(Hidden = 768))
            let expected =
                ExperimentSpec(
                    Name = "parity",
                    Model = ModelSpec(Vocab = 512, Width = 256, Blocks = ValueList.Of(plain, wide, plain, wide)),
                    Task = SparseParity(Bits = 20, Secret = 3, ChainOfThought = true),
                    Training =
                        TrainingSpec(
                            Optimizer = AdamW(Lr = 3e-3),
                            Schedule = WarmupCosine(WarmupFraction = 0.05, MinRatio = 0.1),
                            Budget = StepBudget 600L,
                            GlobalBatch = 64,
                            MicroBatch = 32))
            Expect.equal spec expected "lowered spec"
        }

        test "per-layer edits touch exactly the chosen layers" {
            let spec =
                Model.llama (vocab = 64, width = 64, depth = 5, heads = 4)
                |> Model.layer 0 (Block.attention (Attention.qkNorm >> Attention.position (Position.ropeTheta 500000.0)))
                |> Model.layers (fun i -> i >= 3) (Block.feedForward (FeedForward.gelu 256 |> FeedForward.bias))
                |> Model.layer 4 (Block.attention (Attention.heads 8 >> Attention.headDim 16 >> Attention.bias))
                |> Model.normEps 1e-5
                |> Model.tiedHead false
                |> Model.init (InitSpec(Std = 0.01, EmbeddingStd = 0.5, ScaleResidualOutputs = false))
                |> Model.maxSequenceLength 128
            let norm = RmsNorm(Eps = 1e-5)
            let block attention feedForward = BlockSpec(Attention = attention, FeedForward = feedForward, Norm = norm)
            let plainAttention = AttentionSpec(Heads = 4)
            let geluBias = DenseFeedForward(Hidden = 256, Activation = Activation.Gelu, Bias = true)
            let expected =
                ModelSpec(
                    Vocab = 64,
                    Width = 64,
                    Blocks =
                        ValueList.Of(
                            block (AttentionSpec(Heads = 4, QkNorm = true, Position = Rope(Theta = 500000.0))) (DenseFeedForward()),
                            block plainAttention (DenseFeedForward()),
                            block plainAttention (DenseFeedForward()),
                            block plainAttention geluBias,
                            block (AttentionSpec(Heads = 8, HeadDim = 16, Bias = true)) geluBias),
                    FinalNorm = norm,
                    TiedHead = false,
                    Init = InitSpec(Std = 0.01, EmbeddingStd = 0.5, ScaleResidualOutputs = false),
                    MaxSequenceLength = 128)
            Expect.equal spec expected "model"
        }

        test "everyNth 3 edits layers 2 and 5 of 6" {
            let spec =
                Model.llama (vocab = 8, width = 16, depth = 6, heads = 2)
                |> Model.everyNth 3 (Block.feedForward (FeedForward.relu 32))
            let edited = spec.Blocks |> Seq.map (fun b -> b.FeedForward <> DenseFeedForward()) |> List.ofSeq
            Expect.equal edited [ false; false; true; false; false; true ] "edited layers"
        }

        test "every training setting reaches the IR" {
            let spec =
                Experiment.pretrain "train" (Model.llama (vocab = 8, width = 16, depth = 1, heads = 2))
                |> Experiment.optimizer (AdamW(Lr = 0.01, WeightDecay = 0.0, Beta1 = 0.8, Beta2 = 0.99, Eps = 1e-6))
                |> Experiment.schedule (Schedule.wsd (warmup = 0.1, decayFraction = 0.3, minRatio = 0.05))
                |> Experiment.budget (Budget.tokens 1_000_000L)
                |> Experiment.batch (globalBatch = 32, microBatch = 8)
                |> Experiment.clip 0.5
                |> Experiment.eval (every = 50, batches = 2, problems = 64)
                |> Experiment.checkpoint (every = 200, keep = 3)
                |> Experiment.seed 7
                |> Experiment.device "cuda:1"
                |> Experiment.precision Precision.Float64
                |> Experiment.threads 2
                |> Experiment.toSpec
                |> expectOk
            let expected =
                TrainingSpec(
                    Optimizer = AdamW(Lr = 0.01, WeightDecay = 0.0, Beta1 = 0.8, Beta2 = 0.99, Eps = 1e-6),
                    Schedule = WarmupStableDecay(WarmupFraction = 0.1, DecayFraction = 0.3, MinRatio = 0.05),
                    Budget = TokenBudget 1_000_000L,
                    GlobalBatch = 32,
                    MicroBatch = 8,
                    ClipGradNorm = 0.5,
                    Eval = EvalSpec(Every = 50, Batches = 2, Problems = 64),
                    Checkpoint = CheckpointSpec(Every = 200, Keep = 3),
                    Seed = 7,
                    Device = "cuda:1",
                    Precision = Precision.Float64,
                    Threads = 2)
            Expect.equal spec.Training expected "training"
        }

        test "constant schedule, chinchilla budget, no clipping, micro-batch defaults to the global batch" {
            let training =
                Experiment.pretrain "t" (Model.llama (vocab = 8, width = 16, depth = 1, heads = 2))
                |> Experiment.schedule (Schedule.constant ())
                |> Experiment.budget (Budget.chinchilla 4.0)
                |> Experiment.noClip
                |> Experiment.batch (globalBatch = 48)
                |> _.Training
            Expect.equal training.Schedule (ConstantSchedule() :> ScheduleSpec) "schedule"
            Expect.equal training.Budget (ChinchillaBudget 4.0 :> BudgetSpec) "budget"
            Expect.isFalse training.ClipGradNorm.HasValue "clipping off"
            Expect.equal (training.GlobalBatch, training.MicroBatch) (48, 48) "batch"
        }

        test "task settings reach the IR" {
            let parity =
                Tasks.sparseParity (bits = 12, secret = 2, cot = false, taskSeed = 5, secretIndices = [ 1; 7 ], trainingExamples = 1000L)
            Expect.equal parity
                (SparseParity(Bits = 12, Secret = 2, ChainOfThought = false, TaskSeed = 5,
                              SecretIndices = ValueList.Of(1, 7), TrainingExamples = 1000L) :> TaskSpec) "parity"
            let corpus = Tasks.textCorpus ("data/shakespeare.txt", length = 64, validationFraction = 0.2)
            Expect.equal corpus (TextCorpus(Path = "data/shakespeare.txt", Length = 64, ValidationFraction = 0.2) :> TaskSpec) "corpus"
        }

        test "synthetic reasoning tasks reach the IR" {
            let inContext = Tasks.parityInContext (bits = 10, secret = 2, trainingTasks = 23, demonstrations = 6, cot = false, splitSeed = 4)
            Expect.equal (inContext)
                (ParityInContext(Bits = 10, Secret = 2, TrainingTasks = 23, Demonstrations = 6, ChainOfThought = false, SplitSeed = 4) :> TaskSpec)
                "in-context parity"
            Expect.equal ((Tasks.permutationComposition (5, 16, evalLength = 32)))
                (PermutationComposition(Elements = 5, Length = 16, EvalLength = 32) :> TaskSpec) "S5"
            Expect.equal ((Tasks.flipFlop (16, ignoreProbability = 0.5)))
                (FlipFlop(Pairs = 16, IgnoreProbability = 0.5) :> TaskSpec) "flip-flop"
            let sums = Tasks.chainedArithmetic (7, 3, cot = false)
            Expect.equal (sums) (ChainedArithmetic(Modulus = 7, Steps = 3, ChainOfThought = false) :> TaskSpec) "sums"
            let mixture = Tasks.mixture [ "sums", sums, 2.0; "icl", inContext, 1.0 ]
            let expected =
                TaskMixture(
                    Components =
                        ValueList.Of(
                            MixtureComponent(Domain = "sums", Task = sums, Weight = 2.0),
                            MixtureComponent(Domain = "icl", Task = inContext, Weight = 1.0)))
            Expect.equal mixture (expected :> TaskSpec) "mixture"
            let grouped = Tasks.mixture ([ "sums", sums, 2.0 ], grouping = MixtureGrouping.PerMicroBatch) :?> TaskMixture
            Expect.equal grouped.Grouping MixtureGrouping.PerMicroBatch "one domain per micro-batch"
        }

        test "deriving experiments from a spec leaves it as written out by hand" {
            let baseSpec = designExample ()
            let derived =
                baseSpec |> Experiment.seed 9 |> Experiment.optimizer (Muon(Lr = 0.02)) |> Experiment.budget (Budget.steps 5)
                |> Experiment.name "derived"
            // The base, checked against the IR written out field by field (not against another build).
            let attention = AttentionSpec(Heads = 4, KvHeads = 2, Position = NoPosition())
            let plain = BlockSpec(Attention = attention)
            let wide = BlockSpec(Attention = attention, FeedForward = DenseFeedForward(Hidden = 768))
            let training =
                TrainingSpec(Optimizer = AdamW(Lr = 3e-3), Schedule = WarmupCosine(WarmupFraction = 0.05, MinRatio = 0.1),
                             Budget = StepBudget 600L, GlobalBatch = 64, MicroBatch = 32)
            let model = ModelSpec(Vocab = 512, Width = 256, Blocks = ValueList.Of(plain, wide, plain, wide))
            let task = SparseParity(Bits = 20, Secret = 3, ChainOfThought = true)
            Expect.equal baseSpec (ExperimentSpec(Name = "parity", Model = model, Task = task, Training = training)) "the base is unchanged"
            Expect.equal derived
                (ExperimentSpec(Name = "derived", Model = model, Task = task,
                                Training = TrainingSpec(Optimizer = Muon(Lr = 0.02), Schedule = training.Schedule, Budget = StepBudget 5L,
                                                        GlobalBatch = 64, MicroBatch = 32, Seed = 9)))
                "the derived spec differs in exactly the edited fields"
        }

        test "Moe lowers to MoeFeedForward on the chosen layers" {
            let spec =
                Model.llama (vocab = 64, width = 32, depth = 4, heads = 4)
                |> Model.everyNth 2 (Block.feedForward (Moe.topK (experts = 8, k = 2) |> Moe.globalBalance 1e-3))
            let expected = MoeFeedForward(Experts = 8, TopK = 2, Balance = LoadBalance(Scope = BalanceScope.GlobalBatch, Coefficient = 1e-3))
            let kinds = spec.Blocks |> Seq.map (fun b -> b.FeedForward) |> List.ofSeq
            Expect.equal kinds [ DenseFeedForward(); expected; DenseFeedForward(); expected ] "every second block is a mixture"
        }

        test "Moe options reach the IR" {
            let lowered =
                Moe.topK (experts = 4, k = 1)
                |> Moe.microBalance 1e-2
                |> Moe.expertHidden 48
                |> Moe.shared (count = 2, hidden = 16)
                |> Moe.capacity 1.25
                |> Moe.zLoss 1e-3
                |> Moe.unnormalizedTopK
            let expected =
                MoeFeedForward(
                    Experts = 4, TopK = 1, ExpertHidden = 48, Shared = SharedExperts(Count = 2, Hidden = 16), NormalizeTopK = false,
                    CapacityFactor = 1.25, Balance = LoadBalance(Scope = BalanceScope.MicroBatch, Coefficient = 1e-2), ZLoss = 1e-3)
            Expect.equal lowered (expected :> FeedForwardSpec) "all fields"
            Expect.equal (Moe.topK (experts = 4, k = 1) |> Moe.capacity 2.0 |> Moe.dropless)
                (MoeFeedForward(Experts = 4, TopK = 1) :> FeedForwardSpec) "dropless clears the capacity"
        }

        test "Moe and dense edits refuse the other kind with a clear message" {
            let message =
                try
                    FeedForward.dense |> Moe.globalBalance 1e-3 |> ignore
                    ""
                with :? System.ArgumentException as error -> error.Message
            Expect.stringContains message "Moe.topK" "points at the constructor"
            Expect.throwsT<System.ArgumentException> (fun () -> Moe.topK (experts = 2, k = 1) |> FeedForward.hidden 8 |> ignore) "dense edit on a MoE"
        }

        test "a MoE with more choices than experts fails validation at its path" {
            let spec =
                Model.llama (vocab = 64, width = 32, depth = 2, heads = 4)
                |> Model.layer 1 (Block.feedForward (Moe.topK (experts = 2, k = 3)))
            let errors = spec.Validate() |> Seq.map (fun e -> e.Path) |> List.ofSeq
            Expect.equal errors [ "model.blocks[1].feedForward.topK" ] "topK > experts"
        }
    ]
