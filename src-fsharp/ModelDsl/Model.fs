namespace ModelDsl

open ModelDsl.Core
open ModelDsl.Core.Model

/// Weight initialisation: normal(0, Std) for matrices; residual-output projections scaled by
/// 1/sqrt(2 depth) when ScaleResidualOutputs (GPT-2 §2.3).
type Init = { Std: float; EmbeddingStd: float; ScaleResidualOutputs: bool }

/// A decoder-only language model: embedding, a list of blocks (heterogeneous stacks are normal),
/// final norm and output head.
type Model =
    { Vocab: int
      Width: int
      Blocks: Block list
      FinalNorm: Norm
      /// Share the embedding matrix with the output head.
      TiedHead: bool
      Init: Init
      /// Longest sequence the model is built for (RoPE tables, KV-cache capacity).
      MaxSequenceLength: int }

    /// A stack of identical blocks built from a list (the general constructor).
    static member ofBlocks(vocab: int, width: int, blocks: Block list) =
        let spec = ModelSpec()
        { Vocab = vocab
          Width = width
          Blocks = blocks
          FinalNorm = Norm.rms
          TiedHead = spec.TiedHead
          Init = { Std = spec.Init.Std; EmbeddingStd = spec.Init.EmbeddingStd; ScaleResidualOutputs = spec.Init.ScaleResidualOutputs }
          MaxSequenceLength = spec.MaxSequenceLength }

    /// A Llama-style stack: depth identical pre-norm blocks with RoPE attention and SwiGLU.
    static member llama(vocab: int, width: int, depth: int, heads: int, ?kvHeads: int) =
        if depth < 0 then invalidArg (nameof depth) $"depth {depth} must not be negative"
        let attention = { Attention.defaults with Heads = heads; KvHeads = kvHeads }
        Model.ofBlocks (vocab, width, List.replicate depth { Block.defaults with Attention = attention })

[<RequireQualifiedAccess>]
module Model =
    let private checkLayer (model: Model) (index: int) =
        if index < 0 || index >= model.Blocks.Length then
            invalidArg "index" $"layer {index} does not exist: the model has {model.Blocks.Length} layers (0 .. {model.Blocks.Length - 1})"

    /// Edit every block whose 0-based index satisfies the predicate.
    let layers (predicate: int -> bool) (edit: Block -> Block) (model: Model) =
        { model with Blocks = model.Blocks |> List.mapi (fun i block -> if predicate i then edit block else block) }

    /// Edit the block at a 0-based index (an index outside the stack is an error, not ignored).
    let layer (index: int) (edit: Block -> Block) (model: Model) =
        checkLayer model index
        layers ((=) index) edit model

    /// Edit every n-th block counting from 1: layers n-1, 2n-1, ... (0-based), e.g. every other layer for n = 2.
    let everyNth (n: int) (edit: Block -> Block) (model: Model) =
        if n < 1 then invalidArg (nameof n) $"everyNth {n}: n must be at least 1"
        layers (fun i -> (i + 1) % n = 0) edit model

    /// Edit every block.
    let blocks (edit: Block -> Block) (model: Model) = layers (fun _ -> true) edit model

    /// Edit the attention of every block.
    let attention (edit: Attention -> Attention) (model: Model) = blocks (Block.attention edit) model

    /// Replace the feed-forward of every block.
    let feedForward (feedForward: FeedForward) (model: Model) = blocks (Block.feedForward feedForward) model

    /// Append blocks on top of the stack.
    let append (extra: Block list) (model: Model) = { model with Blocks = model.Blocks @ extra }

    let vocab (size: int) (model: Model) = { model with Vocab = size }
    let width (size: int) (model: Model) = { model with Width = size }
    let finalNorm (norm: Norm) (model: Model) = { model with FinalNorm = norm }

    /// Set epsilon of every norm (all blocks and the final norm).
    let normEps (eps: float) (model: Model) =
        { blocks (fun block -> { block with Norm = Norm.eps eps block.Norm }) model with
            FinalNorm = Norm.eps eps model.FinalNorm }

    /// Share (true) or untie (false) the embedding and the output head.
    let tiedHead (tied: bool) (model: Model) = { model with TiedHead = tied }
    let init (init: Init) (model: Model) = { model with Init = init }
    let maxSequenceLength (length: int) (model: Model) = { model with MaxSequenceLength = length }

    let toSpec (model: Model) =
        ModelSpec(
            Vocab = model.Vocab,
            Width = model.Width,
            Blocks = ValueList<BlockSpec>(model.Blocks |> List.map Block.toSpec),
            FinalNorm = Norm.toSpec model.FinalNorm,
            TiedHead = model.TiedHead,
            Init = InitSpec(Std = model.Init.Std, EmbeddingStd = model.Init.EmbeddingStd, ScaleResidualOutputs = model.Init.ScaleResidualOutputs),
            MaxSequenceLength = model.MaxSequenceLength)
