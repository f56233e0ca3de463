namespace ModelDsl

/// One pre-norm residual block: x + attention(norm x), then x + feedForward(norm x).
type Block = { Attention: Attention; FeedForward: FeedForward; Norm: Norm }

[<RequireQualifiedAccess>]
module Block =
    let defaults = { Attention = Attention.defaults; FeedForward = FeedForward.dense; Norm = Norm.rms }

    /// Edit the block's attention.
    let attention (edit: Attention -> Attention) (block: Block) = { block with Attention = edit block.Attention }

    /// Replace the block's feed-forward.
    let feedForward (feedForward: FeedForward) (block: Block) = { block with FeedForward = feedForward }

    /// Edit the block's feed-forward.
    let mapFeedForward (edit: FeedForward -> FeedForward) (block: Block) = { block with FeedForward = edit block.FeedForward }

    let norm (norm: Norm) (block: Block) = { block with Norm = norm }

    let toSpec (block: Block) =
        ModelDsl.Core.Model.BlockSpec(
            Mixer = Attention.toSpec block.Attention,
            FeedForward = FeedForward.toSpec block.FeedForward,
            Norm = Norm.toSpec block.Norm)
