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
          Gen.constant (NoPosition() :> PositionSpec)
          gen {
              let! lowRank = nullable anyInt
              let! kernel = nullable anyInt
              let! forgetGate = anyBool
              return PathPosition(LowRank = lowRank, ShortConvKernel = kernel, ForgetGate = forgetGate) :> PositionSpec
          } ]

/// Every gate variant, valid or not (G5 headwise/shared included): JSON must carry them all.
let gate : Gen<GateSpec> =
    gen {
        let! position = enumValue<GatePosition>
        let! granularity = enumValue<GateGranularity>
        let! activation = enumValue<GateActivation>
        let! combination = enumValue<GateCombination>
        let! shared = anyBool
        return GateSpec(Position = position, Granularity = granularity, Activation = activation,
                        Combination = combination, SharedAcrossHeads = shared)
    }

let attention =
    gen {
        let! heads = anyInt
        let! kvHeads = nullable anyInt
        let! headDim = nullable anyInt
        let! position = position
        let! qkNorm = anyBool
        let! bias = anyBool
        let! gate = Gen.oneof [ Gen.constant null; gate ]
        return AttentionSpec(Heads = heads, KvHeads = kvHeads, HeadDim = headDim, Position = position, QkNorm = qkNorm, Bias = bias, Gate = gate)
    }

let private dense : Gen<FeedForwardSpec> =
    gen {
        let! hidden = nullable anyInt
        let! activation = enumValue<Activation>
        let! bias = anyBool
        return DenseFeedForward(Hidden = hidden, Activation = activation, Bias = bias) :> FeedForwardSpec
    }

let private moe : Gen<FeedForwardSpec> =
    gen {
        let! experts = anyInt
        let! topK = anyInt
        let! expertHidden = nullable anyInt
        let! shared =
            Gen.oneof
                [ Gen.constant null
                  Gen.map2 (fun count hidden -> SharedExperts(Count = count, Hidden = hidden)) anyInt anyInt ]
        let! normalize = anyBool
        let! capacity = nullable anyFloat
        let! scope = enumValue<BalanceScope>
        let! coefficient = anyFloat
        let! zLoss = anyFloat
        return
            MoeFeedForward(
                Experts = experts, TopK = topK, ExpertHidden = expertHidden, Shared = shared, NormalizeTopK = normalize,
                CapacityFactor = capacity, Balance = LoadBalance(Scope = scope, Coefficient = coefficient), ZLoss = zLoss)
            :> FeedForwardSpec
    }

let feedForward : Gen<FeedForwardSpec> = Gen.oneof [ dense; moe ]

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
    let anyInt = Gen.choose (-2, 20000)
    let anyBool = Gen.elements [ true; false ]
    gen {
        let! lr = anyFloat
        let! weightDecay = anyFloat
        let! a = anyFloat
        let! b = anyFloat
        let! c = anyFloat
        let! d = anyFloat
        let! e = anyFloat
        let! f = anyFloat
        let! i = anyInt
        let! j = anyInt
        let! flag = anyBool
        return!
            Gen.elements
                [ AdamW(Lr = lr, WeightDecay = weightDecay, Beta1 = a, Beta2 = b, Eps = c) :> OptimizerSpec
                  NAdamW(Lr = lr, WeightDecay = weightDecay, Beta1 = a, Beta2 = b, Eps = c)
                  Mars(Lr = lr, WeightDecay = weightDecay, Beta1 = a, Beta2 = b, Gamma = d, Eps = c)
                  Cautious(Lr = lr, WeightDecay = weightDecay, Beta1 = a, Beta2 = b, Eps = c, MaskMeanFloor = d)
                  Lion(Lr = lr, WeightDecay = weightDecay, Beta1 = a, Beta2 = b)
                  AdamMini(Lr = lr, WeightDecay = weightDecay, Beta1 = a, Beta2 = b, Eps = c)
                  Muon(Lr = lr, WeightDecay = weightDecay, Momentum = a, Nesterov = flag, NewtonSchulzSteps = i,
                       AdamLrRatio = b, AdamBeta1 = c, AdamBeta2 = d, AdamEps = e)
                  Scion(Lr = lr, WeightDecay = weightDecay, Momentum = a, NewtonSchulzSteps = i, SignumLrRatio = b)
                  Soap(Lr = lr, WeightDecay = weightDecay, Beta1 = a, Beta2 = b, ShampooBeta = c, Eps = d,
                       PreconditionFrequency = i, MaxPreconditionerDim = j)
                  SophiaH(Lr = lr, WeightDecay = weightDecay, Beta1 = a, Beta2 = b, Gamma = c, Eps = d, HessianInterval = i)
                  Kron(Lr = lr, WeightDecay = weightDecay, Beta1 = a, PreconditionerLr = b, PreconditionerInitScale = c,
                       MaxTriangularDim = i, FlatStart = j, ProbabilityDecay = d, MinUpdateProbability = f) ]
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
        let! attentionStatistics = anyBool
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
                Eval = EvalSpec(Every = evalEvery, Batches = evalBatches, Problems = evalProblems, AttentionStatistics = attentionStatistics),
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
            let! grouping = Gen.elements [ MixtureGrouping.PerSequence; MixtureGrouping.PerMicroBatch ]
            return TaskMixture(Components = ValueList<MixtureComponent>(components), Grouping = grouping) :> TaskSpec
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

// Sweeps: every search variant, axes with and without a name, null and set start points.
let sweepAxis =
    gen {
        let! path = anyString
        let! name = Gen.oneof [ Gen.constant null; anyString ]
        let! values = Gen.listOf anyFloat
        return Sweeps.SweepAxis(Path = path, Name = name, Values = ValueList<float>(values))
    }

let search : Gen<Sweeps.SearchSpec> =
    Gen.oneof
        [ Gen.constant (Sweeps.GridSearch() :> Sweeps.SearchSpec)
          gen {
              let! start = Gen.oneof [ Gen.constant null; Gen.listOf anyInt |> Gen.map (fun s -> ValueList<int>(s)) ]
              let! tie = anyFloat
              return Sweeps.CoordinateDescentSearch(Start = start, TieThreshold = tie) :> Sweeps.SearchSpec
          } ]

let sweepArm =
    gen {
        let! label = anyString
        let! baseSpec = experiment
        let! axes = Gen.listOfLength 2 sweepAxis
        let! search = search
        return Sweeps.SweepArm(Label = label, Base = baseSpec, Axes = ValueList<Sweeps.SweepAxis>(axes), Search = search)
    }

let sweep =
    gen {
        let! name = anyString
        let! arms = Gen.nonEmptyListOf sweepArm |> Gen.map (List.truncate 3)
        let! ratios = Gen.listOf anyFloat
        let! divergence = anyFloat
        let! baseline = Gen.oneof [ Gen.constant null; anyString ]
        return Sweeps.SweepSpec(Name = name, Arms = ValueList<Sweeps.SweepArm>(arms), Ratios = ValueList<float>(ratios),
                                DivergenceLoss = divergence, Baseline = baseline)
    }
