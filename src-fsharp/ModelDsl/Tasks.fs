namespace ModelDsl

open ModelDsl.Core
open ModelDsl.Core.Tasks

/// Sparse parity Parity(n, k) (PAPERS.md §10): n random bits, label = XOR of k secret bits,
/// optionally with the running XORs written out first (chain of thought).
type SparseParity =
    { Bits: int
      Secret: int
      ChainOfThought: bool
      /// Seeds the choice of the secret index set (and nothing else).
      TaskSeed: int
      /// Explicit 0-based increasing indices; None draws them from TaskSeed.
      SecretIndices: int list option
      /// A fixed training set of this size; None draws fresh samples every step.
      TrainingExamples: int64 option }

type Tokenizer =
    /// UTF-8 bytes, vocabulary 256.
    | Bytes

/// A UTF-8 text file, tokenized; the last ValidationFraction is held out.
type TextCorpus = { Path: string; Length: int; ValidationFraction: float; Tokenizer: Tokenizer }

/// In-context compositional parity (PAPERS.md §8): the C(bits, secret) index sets split by
/// SplitSeed into TrainingTasks training tasks and held-out ones; a sequence holds Demonstrations
/// examples of one task, then a query.
type ParityInContext =
    { Bits: int
      Secret: int
      Demonstrations: int
      ChainOfThought: bool
      TrainingTasks: int
      SplitSeed: int }

/// The S_n word problem: at every position, the composition of the permutations so far.
type PermutationComposition = { Elements: int; Length: int; EvalLength: int option }

/// Flip-flop language: reads must return the last written bit.
type FlipFlop = { Pairs: int; EvalPairs: int option; IgnoreProbability: float }

/// Running sums modulo Modulus over Steps operands, optionally written out step by step.
type ChainedArithmetic = { Modulus: int; Steps: int; ChainOfThought: bool }

/// The data a model is trained and evaluated on.
type Task =
    | SparseParity of SparseParity
    | TextCorpus of TextCorpus
    | ParityInContext of ParityInContext
    | PermutationComposition of PermutationComposition
    | FlipFlop of FlipFlop
    | ChainedArithmetic of ChainedArithmetic
    /// A weighted mixture of tasks, each sequence labelled with its domain.
    | TaskMixture of Mixture

/// One domain of a mixture: its label, task and sampling weight.
and MixtureComponent = { Domain: string; Task: Task; Weight: float }

/// The components, and whether a training micro-batch draws one domain per sequence or one for all.
and Mixture = { Components: MixtureComponent list; Grouping: MixtureGrouping }

/// How a mixture's training batches draw their domains.
and MixtureGrouping =
    /// Every sequence draws its own domain.
    | PerSequence
    /// Every training micro-batch holds a single domain (domain-sorted shards).
    | PerMicroBatch

/// Task constructors with named arguments.
[<AbstractClass; Sealed>]
type Tasks =
    /// Parity(bits, secret), with chain of thought when cot.
    static member sparseParity(bits: int, secret: int, ?cot: bool, ?taskSeed: int, ?secretIndices: int list, ?trainingExamples: int64) =
        let spec = ModelDsl.Core.Tasks.SparseParity()
        SparseParity
            { Bits = bits
              Secret = secret
              ChainOfThought = defaultArg cot spec.ChainOfThought
              TaskSeed = defaultArg taskSeed spec.TaskSeed
              SecretIndices = secretIndices
              TrainingExamples = trainingExamples }

    /// A byte-tokenized text file cut into sequences of length tokens.
    static member textCorpus(path: string, ?length: int, ?validationFraction: float) =
        let spec = ModelDsl.Core.Tasks.TextCorpus()
        TextCorpus
            { Path = path
              Length = defaultArg length spec.Length
              ValidationFraction = defaultArg validationFraction spec.ValidationFraction
              Tokenizer = Bytes }

    /// In-context compositional parity with trainingTasks of the C(bits, secret) tasks seen in training.
    static member parityInContext(bits: int, secret: int, trainingTasks: int, ?demonstrations: int, ?cot: bool, ?splitSeed: int) =
        let spec = ModelDsl.Core.Tasks.ParityInContext()
        ParityInContext
            { Bits = bits
              Secret = secret
              Demonstrations = defaultArg demonstrations spec.Demonstrations
              ChainOfThought = defaultArg cot spec.ChainOfThought
              TrainingTasks = trainingTasks
              SplitSeed = defaultArg splitSeed spec.SplitSeed }

    /// The S_elements word problem on sequences of length permutations (evalLength for held-out data).
    static member permutationComposition(elements: int, length: int, ?evalLength: int) =
        PermutationComposition { Elements = elements; Length = length; EvalLength = evalLength }

    /// Flip-flop language with pairs (instruction, bit) pairs (evalPairs for held-out data).
    static member flipFlop(pairs: int, ?evalPairs: int, ?ignoreProbability: float) =
        let spec = ModelDsl.Core.Tasks.FlipFlop()
        FlipFlop { Pairs = pairs; EvalPairs = evalPairs; IgnoreProbability = defaultArg ignoreProbability spec.IgnoreProbability }

    /// (a_1 + ... + a_steps) mod modulus, with the running sums written out when cot.
    static member chainedArithmetic(modulus: int, steps: int, ?cot: bool) =
        let spec = ModelDsl.Core.Tasks.ChainedArithmetic()
        ChainedArithmetic { Modulus = modulus; Steps = steps; ChainOfThought = defaultArg cot spec.ChainOfThought }

    /// A weighted mixture of (domain, task, weight) components; grouping defaults to PerSequence.
    static member mixture(components: (string * Task * float) list, ?grouping: MixtureGrouping) =
        TaskMixture
            { Components = [ for domain, task, weight in components -> { Domain = domain; Task = task; Weight = weight } ]
              Grouping = defaultArg grouping PerSequence }

[<RequireQualifiedAccess>]
module Task =
    let rec toSpec (task: Task) : TaskSpec =
        match task with
        | SparseParity p ->
            ModelDsl.Core.Tasks.SparseParity(
                Bits = p.Bits,
                Secret = p.Secret,
                ChainOfThought = p.ChainOfThought,
                TaskSeed = p.TaskSeed,
                SecretIndices = (p.SecretIndices |> Option.map ValueList<int> |> Option.toObj),
                TrainingExamples = Option.toNullable p.TrainingExamples)
        | TextCorpus c ->
            ModelDsl.Core.Tasks.TextCorpus(
                Path = c.Path,
                Length = c.Length,
                ValidationFraction = c.ValidationFraction,
                Tokenizer = (match c.Tokenizer with Bytes -> TokenizerKind.Bytes))
        | ParityInContext p ->
            ModelDsl.Core.Tasks.ParityInContext(
                Bits = p.Bits,
                Secret = p.Secret,
                Demonstrations = p.Demonstrations,
                ChainOfThought = p.ChainOfThought,
                TrainingTasks = p.TrainingTasks,
                SplitSeed = p.SplitSeed)
        | PermutationComposition p ->
            ModelDsl.Core.Tasks.PermutationComposition(Elements = p.Elements, Length = p.Length, EvalLength = Option.toNullable p.EvalLength)
        | FlipFlop f ->
            ModelDsl.Core.Tasks.FlipFlop(Pairs = f.Pairs, EvalPairs = Option.toNullable f.EvalPairs, IgnoreProbability = f.IgnoreProbability)
        | ChainedArithmetic a ->
            ModelDsl.Core.Tasks.ChainedArithmetic(Modulus = a.Modulus, Steps = a.Steps, ChainOfThought = a.ChainOfThought)
        | TaskMixture mixture ->
            ModelDsl.Core.Tasks.TaskMixture(
                Components =
                    ValueList<ModelDsl.Core.Tasks.MixtureComponent>(
                        [ for c in mixture.Components ->
                              ModelDsl.Core.Tasks.MixtureComponent(Domain = c.Domain, Task = toSpec c.Task, Weight = c.Weight) ]),
                Grouping =
                    (match mixture.Grouping with
                     | PerSequence -> ModelDsl.Core.Tasks.MixtureGrouping.PerSequence
                     | PerMicroBatch -> ModelDsl.Core.Tasks.MixtureGrouping.PerMicroBatch))
