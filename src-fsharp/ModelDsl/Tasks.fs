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

/// The data a model is trained and evaluated on.
type Task =
    | SparseParity of SparseParity
    | TextCorpus of TextCorpus

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

[<RequireQualifiedAccess>]
module Task =
    let toSpec (task: Task) : TaskSpec =
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
