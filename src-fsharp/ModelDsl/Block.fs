namespace ModelDsl

open ModelDsl.Core.Model

/// Edits of the IR's BlockSpec: one pre-norm residual block, x + attention(norm x), then x + feedForward(norm x).
[<RequireQualifiedAccess>]
module Block =
    /// The IR's default block: attention with RoPE, SwiGLU, RMSNorm.
    let defaults = BlockSpec()

    /// Edit the block's attention.
    let attention (edit: AttentionSpec -> AttentionSpec) (block: BlockSpec) = Ir.With(block, block.Attention, edit block.Attention)

    /// Replace the block's feed-forward.
    let feedForward (feedForward: FeedForwardSpec) (block: BlockSpec) = Ir.With(block, block.FeedForward, feedForward)

    /// Edit the block's feed-forward.
    let mapFeedForward (edit: FeedForwardSpec -> FeedForwardSpec) (block: BlockSpec) = Ir.With(block, block.FeedForward, edit block.FeedForward)

    let norm (norm: NormSpec) (block: BlockSpec) = Ir.With(block, block.Norm, norm)
