namespace ModelDsl

open ModelDsl.Core
open ModelDsl.Core.Model

/// Decoder-only language models (the IR's ModelSpec): embedding, a list of blocks (heterogeneous
/// stacks are normal), final norm and output head.
[<AbstractClass; Sealed>]
type Model =
    /// A model with the IR's defaults around the given blocks.
    static member ofBlocks(vocab: int, width: int, blocks: BlockSpec list) =
        ModelSpec(Vocab = vocab, Width = width, Blocks = ValueList<BlockSpec>(blocks))

    /// A Llama-style stack: depth identical pre-norm blocks with RoPE attention and SwiGLU.
    static member llama(vocab: int, width: int, depth: int, heads: int, ?kvHeads: int) =
        if depth < 0 then invalidArg (nameof depth) $"depth {depth} must not be negative"
        let attention = AttentionSpec(Heads = heads, KvHeads = Option.toNullable kvHeads)
        Model.ofBlocks (vocab, width, List.replicate depth (BlockSpec(Attention = attention)))

[<RequireQualifiedAccess>]
module Model =
    let private checkLayer (model: ModelSpec) (index: int) =
        if index < 0 || index >= model.Blocks.Count then
            invalidArg "index" $"layer {index} does not exist: the model has {model.Blocks.Count} layers (0 .. {model.Blocks.Count - 1})"

    /// Edit every block whose 0-based index satisfies the predicate.
    let layers (predicate: int -> bool) (edit: BlockSpec -> BlockSpec) (model: ModelSpec) =
        Ir.With(model, model.Blocks, ValueList<BlockSpec>(model.Blocks |> Seq.mapi (fun i block -> if predicate i then edit block else block)))

    /// Edit the block at a 0-based index (an index outside the stack is an error, not ignored).
    let layer (index: int) (edit: BlockSpec -> BlockSpec) (model: ModelSpec) =
        checkLayer model index
        layers ((=) index) edit model

    /// Edit every n-th block counting from 1: layers n-1, 2n-1, ... (0-based), e.g. every other layer for n = 2.
    let everyNth (n: int) (edit: BlockSpec -> BlockSpec) (model: ModelSpec) =
        if n < 1 then invalidArg (nameof n) $"everyNth {n}: n must be at least 1"
        layers (fun i -> (i + 1) % n = 0) edit model

    /// Edit every block.
    let blocks (edit: BlockSpec -> BlockSpec) (model: ModelSpec) = layers (fun _ -> true) edit model

    /// Edit the attention of every block.
    let attention (edit: AttentionSpec -> AttentionSpec) (model: ModelSpec) = blocks (Block.attention edit) model

    /// Replace the feed-forward of every block.
    let feedForward (feedForward: FeedForwardSpec) (model: ModelSpec) = blocks (Block.feedForward feedForward) model

    /// Append blocks on top of the stack.
    let append (extra: BlockSpec list) (model: ModelSpec) = Ir.With(model, model.Blocks, ValueList<BlockSpec>(Seq.append model.Blocks extra))

    let vocab (size: int) (model: ModelSpec) = Ir.With(model, model.Vocab, size)
    let width (size: int) (model: ModelSpec) = Ir.With(model, model.Width, size)
    let finalNorm (norm: NormSpec) (model: ModelSpec) = Ir.With(model, model.FinalNorm, norm)

    /// Set epsilon of every norm (all blocks and the final norm).
    let normEps (eps: float) (model: ModelSpec) =
        let edited = blocks (fun block -> Block.norm (Norm.eps eps block.Norm) block) model
        finalNorm (Norm.eps eps model.FinalNorm) edited

    /// Share (true) or untie (false) the embedding and the output head.
    let tiedHead (tied: bool) (model: ModelSpec) = Ir.With(model, model.TiedHead, tied)
    /// Weight initialisation, e.g. `InitSpec(Std = 0.01, ScaleResidualOutputs = false)`.
    let init (init: InitSpec) (model: ModelSpec) = Ir.With(model, model.Init, init)
    /// Longest sequence the model is built for (RoPE tables, KV-cache capacity).
    let maxSequenceLength (length: int) (model: ModelSpec) = Ir.With(model, model.MaxSequenceLength, length)
