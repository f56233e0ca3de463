namespace ModelDsl

open ModelDsl.Core
open ModelDsl.Core.Tasks

/// Task constructors with named arguments; each returns the IR's TaskSpec, with the IR's defaults
/// for every argument left out.
[<AbstractClass; Sealed>]
type Tasks =
    /// Parity(bits, secret) (PAPERS.md §10), with chain of thought when cot; secretIndices fixes the
    /// secret bits (else drawn from taskSeed); trainingExamples fixes a training set of that size.
    static member sparseParity(bits: int, secret: int, ?cot: bool, ?taskSeed: int, ?secretIndices: int list, ?trainingExamples: int64) : TaskSpec =
        let defaults = SparseParity()
        SparseParity(
            Bits = bits,
            Secret = secret,
            ChainOfThought = defaultArg cot defaults.ChainOfThought,
            TaskSeed = defaultArg taskSeed defaults.TaskSeed,
            SecretIndices = (secretIndices |> Option.map ValueList<int> |> Option.toObj),
            TrainingExamples = Option.toNullable trainingExamples)

    /// A text file cut into sequences of length tokens; the last validationFraction is held out. Tokens
    /// are bytes by default, or BPE (TokenizerKind.Gpt2, or TokenizerKind.Bpe with vocabulary and merges files).
    /// bos = true starts every sequence with a beginning-of-sequence token (vocabulary + 1).
    static member textCorpus(path: string, ?length: int, ?validationFraction: float, ?tokenizer: TokenizerKind,
                             ?vocabularyFile: string, ?mergesFile: string, ?bos: bool) : TaskSpec =
        let defaults = TextCorpus()
        TextCorpus(
            Path = path,
            Length = defaultArg length defaults.Length,
            ValidationFraction = defaultArg validationFraction defaults.ValidationFraction,
            Tokenizer = defaultArg tokenizer defaults.Tokenizer,
            VocabularyFile = Option.toObj vocabularyFile,
            MergesFile = Option.toObj mergesFile,
            Bos = defaultArg bos false)

    /// In-context compositional parity (PAPERS.md §8) with trainingTasks of the C(bits, secret) tasks seen in training.
    static member parityInContext(bits: int, secret: int, trainingTasks: int, ?demonstrations: int, ?cot: bool, ?splitSeed: int) : TaskSpec =
        let defaults = ParityInContext()
        ParityInContext(
            Bits = bits,
            Secret = secret,
            TrainingTasks = trainingTasks,
            Demonstrations = defaultArg demonstrations defaults.Demonstrations,
            ChainOfThought = defaultArg cot defaults.ChainOfThought,
            SplitSeed = defaultArg splitSeed defaults.SplitSeed)

    /// The S_elements word problem on sequences of length permutations (evalLength for held-out data).
    static member permutationComposition(elements: int, length: int, ?evalLength: int) : TaskSpec =
        PermutationComposition(Elements = elements, Length = length, EvalLength = Option.toNullable evalLength)

    /// Flip-flop language with pairs (instruction, bit) pairs (evalPairs for held-out data).
    static member flipFlop(pairs: int, ?evalPairs: int, ?ignoreProbability: float) : TaskSpec =
        let defaults = FlipFlop()
        FlipFlop(
            Pairs = pairs,
            EvalPairs = Option.toNullable evalPairs,
            IgnoreProbability = defaultArg ignoreProbability defaults.IgnoreProbability)

    /// (a_1 + ... + a_steps) mod modulus, with the running sums written out when cot.
    static member chainedArithmetic(modulus: int, steps: int, ?cot: bool) : TaskSpec =
        ChainedArithmetic(Modulus = modulus, Steps = steps, ChainOfThought = defaultArg cot (ChainedArithmetic().ChainOfThought))

    /// A weighted mixture of (domain, task, weight) components; grouping defaults to PerSequence.
    static member mixture(components: (string * TaskSpec * float) list, ?grouping: MixtureGrouping) : TaskSpec =
        TaskMixture(
            Components = ValueList<MixtureComponent>([ for domain, task, weight in components -> MixtureComponent(Domain = domain, Task = task, Weight = weight) ]),
            Grouping = defaultArg grouping MixtureGrouping.PerSequence)

    /// Procedural 32x32 scenes for a vision experiment (`Experiment.vision`): captions and, with
    /// probability questionFraction, one-word questions about colour, shape, size, position and count;
    /// every textOnlyEvery-th step trains without images; contrastKinds are the minimal pairs that
    /// preference training draws.
    static member scenes(?priorStrength: float, ?heldOutFraction: float, ?questionFraction: float, ?textOnlyEvery: int,
                         ?contrastKinds: ModelDsl.Core.Vision.ContrastKind list) : TaskSpec =
        let defaults = ModelDsl.Core.Vision.SceneTaskSpec()
        ModelDsl.Core.Vision.SceneTaskSpec(
            PriorStrength = defaultArg priorStrength defaults.PriorStrength,
            HeldOutFraction = defaultArg heldOutFraction defaults.HeldOutFraction,
            QuestionFraction = defaultArg questionFraction defaults.QuestionFraction,
            TextOnlyEvery = defaultArg textOnlyEvery defaults.TextOnlyEvery,
            ContrastKinds = (match contrastKinds with
                             | Some kinds -> ValueList.Of(Array.ofList kinds)
                             | None -> defaults.ContrastKinds))
