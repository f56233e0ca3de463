namespace ModelDsl

type Activation =
    /// silu(W_gate x) * W_up x (Shazeer 2020).
    | SwiGlu
    | Gelu
    | Relu

/// A dense feed-forward; None hidden means the IR's rule (8/3 width rounded to 64 for SwiGLU, else 4 width).
type DenseFeedForward = { Hidden: int option; Activation: Activation; Bias: bool }

/// The per-token feed-forward of a block. Mixture-of-experts becomes a further case.
type FeedForward = Dense of DenseFeedForward

[<RequireQualifiedAccess>]
module FeedForward =
    /// The IR's default: SwiGLU with the default hidden size, no bias.
    let dense = Dense { Hidden = None; Activation = SwiGlu; Bias = false }

    let swiGlu (hidden: int) = Dense { Hidden = Some hidden; Activation = SwiGlu; Bias = false }
    let gelu (hidden: int) = Dense { Hidden = Some hidden; Activation = Gelu; Bias = false }
    let relu (hidden: int) = Dense { Hidden = Some hidden; Activation = Relu; Bias = false }

    let hidden (size: int) (Dense dense) = Dense { dense with Hidden = Some size }
    let activation (activation: Activation) (Dense dense) = Dense { dense with Activation = activation }
    let bias (Dense dense) = Dense { dense with Bias = true }

    let toSpec (feedForward: FeedForward) : ModelDsl.Core.Model.FeedForwardSpec =
        match feedForward with
        | Dense dense ->
            ModelDsl.Core.Model.DenseFeedForward(
                Hidden = Option.toNullable dense.Hidden,
                Activation =
                    (match dense.Activation with
                     | SwiGlu -> ModelDsl.Core.Model.Activation.SwiGlu
                     | Gelu -> ModelDsl.Core.Model.Activation.Gelu
                     | Relu -> ModelDsl.Core.Model.Activation.Relu),
                Bias = dense.Bias)
