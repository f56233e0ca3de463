namespace ModelDsl

open ModelDsl.Core.Model

/// Mixture-of-experts feed-forwards (the IR's MoeFeedForward), e.g.
/// `Moe.topK (experts = 8, k = 2) |> Moe.globalBalance 1e-3`; place them with Block.feedForward and
/// Model.everyNth / Model.layer like any feed-forward.
[<AbstractClass; Sealed>]
type Moe =
    /// experts SwiGLU experts, k per token, renormalised top-k weights, dropless, global-batch
    /// balance 1e-3 and no z-loss (the IR's defaults).
    static member topK(experts: int, k: int) : FeedForwardSpec = MoeFeedForward(Experts = experts, TopK = k)

    static member private edit (name: string) (change: MoeFeedForward -> MoeFeedForward) =
        fun (feedForward: FeedForwardSpec) ->
            match feedForward with
            | :? MoeFeedForward as moe -> change moe :> FeedForwardSpec
            | _ -> invalidArg "feedForward" $"Moe.{name} applies to a mixture of experts (start from Moe.topK), not a dense feed-forward"

    /// Load balance counted over every micro-batch of the optimizer step (arXiv 2501.11873).
    static member globalBalance(coefficient: float) =
        Moe.edit "globalBalance" (fun moe -> Ir.With(moe, moe.Balance, LoadBalance(Scope = BalanceScope.GlobalBatch, Coefficient = coefficient)))

    /// Load balance counted inside each micro-batch.
    static member microBalance(coefficient: float) =
        Moe.edit "microBalance" (fun moe -> Ir.With(moe, moe.Balance, LoadBalance(Scope = BalanceScope.MicroBatch, Coefficient = coefficient)))

    /// Hidden units per routed expert.
    static member expertHidden(hidden: int) = Moe.edit "expertHidden" (fun moe -> Ir.With(moe, moe.ExpertHidden, System.Nullable hidden))

    /// count always-active experts of hidden units each.
    static member shared(count: int, hidden: int) =
        Moe.edit "shared" (fun moe -> Ir.With(moe, moe.Shared, SharedExperts(Count = count, Hidden = hidden)))

    /// Each expert takes at most ceil(factor * tokens * k / experts) slots, in token order; the rest are dropped.
    static member capacity(factor: float) = Moe.edit "capacity" (fun moe -> Ir.With(moe, moe.CapacityFactor, System.Nullable factor))

    /// Every routed slot is computed (the default).
    static member dropless = Moe.edit "dropless" (fun moe -> Ir.With(moe, moe.CapacityFactor, System.Nullable()))

    /// Router z-loss coefficient (ST-MoE).
    static member zLoss(coefficient: float) = Moe.edit "zLoss" (fun moe -> Ir.With(moe, moe.ZLoss, coefficient))

    /// Use the k selected probabilities as they are, without dividing by their sum.
    static member unnormalizedTopK = Moe.edit "unnormalizedTopK" (fun moe -> Ir.With(moe, moe.NormalizeTopK, false))
