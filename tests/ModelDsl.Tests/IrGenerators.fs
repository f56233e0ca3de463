/// FsCheck generators for every IR record: random block stacks and training settings by hand (they
/// have structure), every kind of every polymorphic family derived from the IR (DerivedGenerators),
/// nullable fields both null and set.
module ModelDsl.Tests.IrGenerators

open FsCheck
open FsCheck.FSharp
open ModelDsl.Core
open ModelDsl.Core.Model
open ModelDsl.Core.Tasks
open ModelDsl.Core.Training

let private anyInt = ArbMap.defaults |> ArbMap.generate<int>
let private anyBool = ArbMap.defaults |> ArbMap.generate<bool>
/// Includes NaN and infinities: the JSON options allow named floating-point literals.
let private anyFloat = ArbMap.defaults |> ArbMap.generate<float>
let private anyString = ArbMap.defaults |> ArbMap.generate<NonNull<string>> |> Gen.map (fun s -> s.Get)

let private nullable (g: Gen<'T>) : Gen<System.Nullable<'T>> =
    Gen.oneof [ Gen.constant (System.Nullable()); g |> Gen.map System.Nullable ]

let private enumValue<'T when 'T :> System.Enum> : Gen<'T> =
    System.Enum.GetValues(typeof<'T>) |> Seq.cast<'T> |> Gen.elements

/// Valid values of every kind of a family (derived from the IR), or, one time in four, any values
/// (NaN, negative counts): the JSON must carry both.
let private derived<'Base> (handWritten: (System.Type * Gen<'Base>) list) : Gen<'Base> =
    Gen.frequency [ 3, DerivedGenerators.family<'Base> handWritten; 1, DerivedGenerators.wildFamily<'Base> ]

let position : Gen<PositionSpec> = derived []

/// Every gate variant, valid or not (G5 headwise/shared included): JSON must carry them all.
let gate : Gen<GateSpec> = DerivedGenerators.record DerivedGenerators.Near typeof<GateSpec> |> Gen.map unbox

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

let feedForward : Gen<FeedForwardSpec> = derived []

let norm : Gen<NormSpec> = derived []

let block =
    gen {
        let! attention = attention
        let! feedForward = feedForward
        let! norm = norm
        return BlockSpec(Attention = attention, FeedForward = feedForward, Norm = norm)
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

let optimizer : Gen<OptimizerSpec> = derived []

let schedule : Gen<ScheduleSpec> = derived []

let budget : Gen<BudgetSpec> = derived []

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

/// A mixture is the one task with structure: one to three valid leaf tasks under distinct domains.
let mixture : Gen<TaskSpec> =
    let leaves =
        DerivedGenerators.kindsOf typeof<TaskSpec>
        |> List.filter (fun kind -> kind <> typeof<TaskMixture>)
        |> List.map DerivedGenerators.validKind
        |> Gen.oneof
    gen {
        let! count = Gen.choose (1, 3)
        let! tasks = Gen.listOfLength count leaves
        let! weights = Gen.listOfLength count (Gen.choose (1, 8))
        let! grouping = enumValue<MixtureGrouping>
        let components =
            List.mapi2 (fun i (task: obj) weight -> MixtureComponent(Domain = $"domain{i}", Task = (task :?> TaskSpec), Weight = float weight)) tasks weights
        return TaskMixture(Components = ValueList<MixtureComponent>(components), Grouping = grouping) :> TaskSpec
    }

let task : Gen<TaskSpec> = derived [ typeof<TaskMixture>, mixture ]

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

let search : Gen<Sweeps.SearchSpec> = derived []

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
