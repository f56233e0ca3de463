namespace ModelDsl

type Activation =
    /// silu(W_gate x) * W_up x (Shazeer 2020).
    | SwiGlu
    | Gelu
    | Relu

/// A dense feed-forward; None hidden means the IR's rule (8/3 width rounded to 64 for SwiGLU, else 4 width).
type DenseFeedForward = { Hidden: int option; Activation: Activation; Bias: bool }

/// Which tokens the load-balancing frequencies are counted over (arXiv 2501.11873).
type BalanceScope =
    /// f and p from each micro-batch.
    | MicroBatch
    /// f from every micro-batch of the optimizer step (and replica), p local.
    | GlobalBatch

/// Always-active SwiGLU experts next to the routed ones.
type SharedExperts = { Count: int; Hidden: int }

/// Mixture of SwiGLU experts; see the IR's MoeFeedForward. None expert hidden means dense default / k;
/// None capacity factor means dropless.
type MoeFeedForward =
    { Experts: int
      TopK: int
      ExpertHidden: int option
      Shared: SharedExperts option
      NormalizeTopK: bool
      CapacityFactor: float option
      Balance: BalanceScope
      BalanceCoefficient: float
      ZLoss: float }

/// The per-token feed-forward of a block.
type FeedForward =
    | Dense of DenseFeedForward
    | Moe of MoeFeedForward

[<RequireQualifiedAccess>]
module FeedForward =
    /// The IR's default: SwiGLU with the default hidden size, no bias.
    let dense = Dense { Hidden = None; Activation = SwiGlu; Bias = false }

    let swiGlu (hidden: int) = Dense { Hidden = Some hidden; Activation = SwiGlu; Bias = false }
    let gelu (hidden: int) = Dense { Hidden = Some hidden; Activation = Gelu; Bias = false }
    let relu (hidden: int) = Dense { Hidden = Some hidden; Activation = Relu; Bias = false }

    let private editDense name edit feedForward =
        match feedForward with
        | Dense dense -> Dense(edit dense)
        | Moe _ -> invalidArg "feedForward" (sprintf "FeedForward.%s applies to a dense feed-forward, not a mixture of experts (use the Moe functions)" name)

    let hidden (size: int) = editDense "hidden" (fun dense -> { dense with Hidden = Some size })
    let activation (activation: Activation) = editDense "activation" (fun dense -> { dense with Activation = activation })
    let bias feedForward = editDense "bias" (fun dense -> { dense with Bias = true }) feedForward

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
        | Moe moe ->
            ModelDsl.Core.Model.MoeFeedForward(
                Experts = moe.Experts,
                TopK = moe.TopK,
                ExpertHidden = Option.toNullable moe.ExpertHidden,
                Shared =
                    (match moe.Shared with
                     | Some shared -> ModelDsl.Core.Model.SharedExperts(Count = shared.Count, Hidden = shared.Hidden)
                     | None -> null),
                NormalizeTopK = moe.NormalizeTopK,
                CapacityFactor = Option.toNullable moe.CapacityFactor,
                Balance =
                    ModelDsl.Core.Model.LoadBalance(
                        Scope =
                            (match moe.Balance with
                             | MicroBatch -> ModelDsl.Core.Model.BalanceScope.MicroBatch
                             | GlobalBatch -> ModelDsl.Core.Model.BalanceScope.GlobalBatch),
                        Coefficient = moe.BalanceCoefficient),
                ZLoss = moe.ZLoss)
