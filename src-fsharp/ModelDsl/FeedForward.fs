namespace ModelDsl

open ModelDsl.Core.Model

/// Dense feed-forwards (the IR's DenseFeedForward); mixtures of experts are in Moe.
[<RequireQualifiedAccess>]
module FeedForward =
    /// The IR's default: SwiGLU with the default hidden size (8/3 width rounded to 64), no bias.
    let dense: FeedForwardSpec = DenseFeedForward()

    let swiGlu (hidden: int) : FeedForwardSpec = DenseFeedForward(Hidden = hidden, Activation = Activation.SwiGlu)
    let gelu (hidden: int) : FeedForwardSpec = DenseFeedForward(Hidden = hidden, Activation = Activation.Gelu)
    let relu (hidden: int) : FeedForwardSpec = DenseFeedForward(Hidden = hidden, Activation = Activation.Relu)

    let private editDense name (edit: DenseFeedForward -> DenseFeedForward) (feedForward: FeedForwardSpec) : FeedForwardSpec =
        match feedForward with
        | :? DenseFeedForward as dense -> edit dense
        | _ -> invalidArg "feedForward" $"FeedForward.{name} applies to a dense feed-forward, not a mixture of experts (use the Moe functions)"

    let hidden (size: int) = editDense "hidden" (fun dense -> Ir.With(dense, dense.Hidden, System.Nullable size))
    let activation (activation: Activation) = editDense "activation" (fun dense -> Ir.With(dense, dense.Activation, activation))
    let bias feedForward = editDense "bias" (fun dense -> Ir.With(dense, dense.Bias, true)) feedForward
