namespace ModelDsl

/// Mixture-of-experts feed-forwards, e.g.
/// `Moe.topK (experts = 8, k = 2) |> Moe.globalBalance 1e-3`; place them with Block.feedForward and
/// Model.everyNth / Model.layer like any feed-forward.
type Moe =
    /// experts SwiGLU experts, k per token, renormalised top-k weights, dropless, global-batch
    /// balance 1e-3 and no z-loss (the IR's defaults).
    static member topK(experts: int, k: int) =
        let defaults = ModelDsl.Core.Model.MoeFeedForward()
        FeedForward.Moe
            { Experts = experts
              TopK = k
              ExpertHidden = None
              Shared = None
              NormalizeTopK = defaults.NormalizeTopK
              CapacityFactor = None
              Balance = GlobalBatch
              BalanceCoefficient = defaults.Balance.Coefficient
              ZLoss = defaults.ZLoss }

    static member private edit (name: string) (change: MoeFeedForward -> MoeFeedForward) =
        fun (feedForward: FeedForward) ->
            match feedForward with
            | FeedForward.Moe moe -> FeedForward.Moe(change moe)
            | FeedForward.Dense _ -> invalidArg "feedForward" (sprintf "Moe.%s applies to a mixture of experts (start from Moe.topK), not a dense feed-forward" name)

    /// Load balance counted over every micro-batch of the optimizer step (arXiv 2501.11873).
    static member globalBalance(coefficient: float) =
        Moe.edit "globalBalance" (fun moe -> { moe with Balance = GlobalBatch; BalanceCoefficient = coefficient })

    /// Load balance counted inside each micro-batch.
    static member microBalance(coefficient: float) =
        Moe.edit "microBalance" (fun moe -> { moe with Balance = MicroBatch; BalanceCoefficient = coefficient })

    /// Hidden units per routed expert.
    static member expertHidden(hidden: int) = Moe.edit "expertHidden" (fun moe -> { moe with ExpertHidden = Some hidden })

    /// count always-active experts of hidden units each.
    static member shared(count: int, hidden: int) =
        Moe.edit "shared" (fun moe -> { moe with Shared = Some { Count = count; Hidden = hidden } })

    /// Each expert takes at most ceil(factor * tokens * k / experts) slots, in token order; the rest are dropped.
    static member capacity(factor: float) = Moe.edit "capacity" (fun moe -> { moe with CapacityFactor = Some factor })

    /// Every routed slot is computed (the default).
    static member dropless = Moe.edit "dropless" (fun moe -> { moe with CapacityFactor = None })

    /// Router z-loss coefficient (ST-MoE).
    static member zLoss(coefficient: float) = Moe.edit "zLoss" (fun moe -> { moe with ZLoss = coefficient })

    /// Use the k selected probabilities as they are, without dividing by their sum.
    static member unnormalizedTopK = Moe.edit "unnormalizedTopK" (fun moe -> { moe with NormalizeTopK = false })
