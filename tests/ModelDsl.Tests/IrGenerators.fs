/// FsCheck generators for every IR record: random block stacks, every variant of every
/// polymorphic node, nullable fields both null and set.
module ModelDsl.Tests.IrGenerators

open FsCheck
open FsCheck.FSharp
open ModelDsl.Core
open ModelDsl.Core.Model
open ModelDsl.Core.Tasks
open ModelDsl.Core.Training

let private anyInt = ArbMap.defaults |> ArbMap.generate<int>
let private anyLong = ArbMap.defaults |> ArbMap.generate<int64>
let private anyBool = ArbMap.defaults |> ArbMap.generate<bool>
/// Includes NaN and infinities: the JSON options allow named floating-point literals.
let private anyFloat = ArbMap.defaults |> ArbMap.generate<float>
let private anyString = ArbMap.defaults |> ArbMap.generate<NonNull<string>> |> Gen.map (fun s -> s.Get)

let private nullable (g: Gen<'T>) : Gen<System.Nullable<'T>> =
    Gen.oneof [ Gen.constant (System.Nullable()); g |> Gen.map System.Nullable ]

let private enumValue<'T when 'T :> System.Enum> : Gen<'T> =
    System.Enum.GetValues(typeof<'T>) |> Seq.cast<'T> |> Gen.elements

let position : Gen<PositionSpec> =
    Gen.oneof
        [ anyFloat |> Gen.map (fun theta -> Rope(Theta = theta) :> PositionSpec)
          Gen.constant (NoPosition() :> PositionSpec) ]

let attention =
    gen {
        let! heads = anyInt
        let! kvHeads = nullable anyInt
        let! headDim = nullable anyInt
        let! position = position
        let! qkNorm = anyBool
        let! bias = anyBool
        return AttentionSpec(Heads = heads, KvHeads = kvHeads, HeadDim = headDim, Position = position, QkNorm = qkNorm, Bias = bias)
    }

let feedForward : Gen<FeedForwardSpec> =
    gen {
        let! hidden = nullable anyInt
        let! activation = enumValue<Activation>
        let! bias = anyBool
        return DenseFeedForward(Hidden = hidden, Activation = activation, Bias = bias) :> FeedForwardSpec
    }

let norm : Gen<NormSpec> = anyFloat |> Gen.map (fun eps -> RmsNorm(Eps = eps) :> NormSpec)

let block =
    gen {
        let! mixer = attention
        let! feedForward = feedForward
        let! norm = norm
        return BlockSpec(Mixer = mixer, FeedForward = feedForward, Norm = norm)
    }

let model =
    gen {
        let! vocab = anyInt
        let! width = anyInt
        let! depth = Gen.choose (0, 6)
        let! blocks = Gen.listOfLength depth block
        let! finalNorm = norm
        let! tied = anyBool
        let! std = anyFloat
        let! embeddingStd = anyFloat
        let! scale = anyBool
        let! maxLength = anyInt
        return
            ModelSpec(
                Vocab = vocab,
                Width = width,
                Blocks = ValueList<BlockSpec>(blocks),
                FinalNorm = finalNorm,
                TiedHead = tied,
                Init = InitSpec(Std = std, EmbeddingStd = embeddingStd, ScaleResidualOutputs = scale),
                MaxSequenceLength = maxLength)
    }

let optimizer : Gen<OptimizerSpec> =
    gen {
        let! lr = anyFloat
        let! weightDecay = anyFloat
        let! beta1 = anyFloat
        let! beta2 = anyFloat
        let! eps = anyFloat
        return AdamW(Lr = lr, WeightDecay = weightDecay, Beta1 = beta1, Beta2 = beta2, Eps = eps) :> OptimizerSpec
    }

let schedule : Gen<ScheduleSpec> =
    gen {
        let! warmup = anyFloat
        let! minRatio = anyFloat
        let! decay = anyFloat
        return!
            Gen.elements
                [ ConstantSchedule(WarmupFraction = warmup) :> ScheduleSpec
                  WarmupCosine(WarmupFraction = warmup, MinRatio = minRatio)
                  WarmupStableDecay(WarmupFraction = warmup, DecayFraction = decay, MinRatio = minRatio) ]
    }

let budget : Gen<BudgetSpec> =
    Gen.oneof
        [ anyLong |> Gen.map (fun n -> StepBudget n :> BudgetSpec)
          anyLong |> Gen.map (fun n -> TokenBudget n :> BudgetSpec)
          anyFloat |> Gen.map (fun r -> ChinchillaBudget r :> BudgetSpec) ]

let training =
    gen {
        let! optimizer = optimizer
        let! schedule = schedule
        let! budget = budget
        let! globalBatch = anyInt
        let! microBatch = anyInt
        let! clip = nullable anyFloat
        let! evalEvery, evalBatches, evalProblems = Gen.zip3 anyInt anyInt anyInt
        let! checkpointEvery, keep = Gen.zip anyInt anyInt
        let! seed = anyInt
        let! device = Gen.oneof [ Gen.elements [ "cpu"; "cuda"; "cuda:1"; "auto" ]; anyString ]
        let! precision = enumValue<Precision>
        let! threads = nullable anyInt
        return
            TrainingSpec(
                Optimizer = optimizer,
                Schedule = schedule,
                Budget = budget,
                GlobalBatch = globalBatch,
                MicroBatch = microBatch,
                ClipGradNorm = clip,
                Eval = EvalSpec(Every = evalEvery, Batches = evalBatches, Problems = evalProblems),
                Checkpoint = CheckpointSpec(Every = checkpointEvery, Keep = keep),
                Seed = seed,
                Device = device,
                Precision = precision,
                Threads = threads)
    }

let task : Gen<TaskSpec> =
    let parity =
        gen {
            let! bits = anyInt
            let! secret = anyInt
            let! cot = anyBool
            let! taskSeed = anyInt
            let! indices = Gen.oneof [ Gen.constant null; Gen.listOf anyInt |> Gen.map ValueList<int> ]
            let! examples = nullable anyLong
            return
                SparseParity(Bits = bits, Secret = secret, ChainOfThought = cot, TaskSeed = taskSeed,
                             SecretIndices = indices, TrainingExamples = examples) :> TaskSpec
        }
    let corpus =
        gen {
            let! path = anyString
            let! length = anyInt
            let! fraction = anyFloat
            let! tokenizer = enumValue<TokenizerKind>
            return TextCorpus(Path = path, Length = length, ValidationFraction = fraction, Tokenizer = tokenizer) :> TaskSpec
        }
    let inContext =
        gen {
            let! bits = anyInt
            let! secret = anyInt
            let! demonstrations = anyInt
            let! cot = anyBool
            let! trainingTasks = anyInt
            let! splitSeed = anyInt
            return
                ParityInContext(Bits = bits, Secret = secret, Demonstrations = demonstrations, ChainOfThought = cot,
                                TrainingTasks = trainingTasks, SplitSeed = splitSeed) :> TaskSpec
        }
    let permutations =
        gen {
            let! elements = anyInt
            let! length = anyInt
            let! evalLength = nullable anyInt
            return PermutationComposition(Elements = elements, Length = length, EvalLength = evalLength) :> TaskSpec
        }
    let flipFlop =
        gen {
            let! pairs = anyInt
            let! evalPairs = nullable anyInt
            let! ignore = anyFloat
            return FlipFlop(Pairs = pairs, EvalPairs = evalPairs, IgnoreProbability = ignore) :> TaskSpec
        }
    let arithmetic =
        gen {
            let! modulus = anyInt
            let! steps = anyInt
            let! cot = anyBool
            return ChainedArithmetic(Modulus = modulus, Steps = steps, ChainOfThought = cot) :> TaskSpec
        }
    let leaves = [ parity; corpus; inContext; permutations; flipFlop; arithmetic ]
    let mixture =
        gen {
            let! components =
                Gen.listOf (
                    gen {
                        let! domain = anyString
                        let! task = Gen.oneof leaves
                        let! weight = anyFloat
                        return MixtureComponent(Domain = domain, Task = task, Weight = weight)
                    })
            return TaskMixture(Components = ValueList<MixtureComponent>(components)) :> TaskSpec
        }
    Gen.oneof (mixture :: leaves)

let experiment =
    gen {
        let! name = anyString
        let! model = model
        let! task = task
        let! training = training
        return ExperimentSpec(Name = name, Model = model, Task = task, Training = training)
    }
