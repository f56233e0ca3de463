using ModelDsl.Core.Variants;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Model;

/// <summary>
/// Mixture-of-experts feed-forward (Shazeer et al. 2017; Qwen/DeepSeek-style fine-grained experts):
/// a linear router scores every expert, softmax over all experts (float32), each token goes to its
/// TopK experts, each a SwiGLU of ExpertHidden units; Shared experts see every token.
/// <para>ExpertHidden null: the dense SwiGLU default hidden divided by TopK (rounded up), so the
/// active routed parameters match a dense layer of the default size.</para>
/// <para>CapacityFactor null: dropless. Otherwise each expert takes at most
/// ceil(CapacityFactor * tokens * TopK / Experts) token slots per forward pass; slots are admitted
/// in token order (flattened batch-major position, then rank of the choice) and later slots over
/// capacity are dropped: that expert contributes zero for the token and the residual passes through.</para>
/// </summary>
[Kind("moe")]
public sealed record MoeFeedForward : FeedForwardSpec
{
    public int Experts { get; init; } = 8;
    public int TopK { get; init; } = 2;
    public int? ExpertHidden { get; init; }
    /// <summary>Always-active experts next to the routed ones; null means none.</summary>
    public SharedExperts? Shared { get; init; }
    /// <summary>Divide the k selected probabilities by their sum, so the combine weights add up to 1.</summary>
    public bool NormalizeTopK { get; init; } = true;
    /// <summary>Expert capacity as a multiple of the balanced load; null means dropless.</summary>
    public double? CapacityFactor { get; init; }
    public LoadBalance Balance { get; init; } = new();
    /// <summary>Router z-loss coefficient (Zoph et al. 2022, ST-MoE eq. 5): coefficient * mean(logsumexp(logits)^2).</summary>
    public double ZLoss { get; init; }

    public int EffectiveExpertHidden(int width) =>
        ExpertHidden ?? (int)Math.Ceiling((double)DenseFeedForward.DefaultHidden(width, Activation.SwiGlu) / Math.Max(TopK, 1));

    public override void Validate(Validator v, string path, ModelSpec model)
    {
        v.Require(Experts >= 1, $"{path}.experts", $"{Experts} must be at least 1 (a mixture needs an expert to route to)");
        v.Require(TopK >= 1, $"{path}.topK", $"{TopK} must be at least 1");
        if (Experts >= 1 && TopK >= 1)
            v.Require(TopK <= Experts, $"{path}.topK", $"{TopK} exceeds the {Experts} experts (each token picks k distinct experts)");
        if (ExpertHidden is { } h) v.Require(h >= 1, $"{path}.expertHidden", $"{h} must be at least 1");
        Shared?.Validate(v, $"{path}.shared");
        if (CapacityFactor is { } c)
            v.Require(double.IsFinite(c) && c > 0, $"{path}.capacityFactor", $"{Validator.Show(c)} must be positive and finite (null means dropless)");
        if (Balance is null) v.Fail($"{path}.balance", "is missing");
        else Balance.Validate(v, $"{path}.balance");
        v.Require(double.IsFinite(ZLoss) && ZLoss >= 0, $"{path}.zLoss", $"{Validator.Show(ZLoss)} must be non-negative and finite");
    }
}

/// <summary>Shared experts: Count SwiGLU experts of Hidden units applied to every token (DeepSeekMoE).</summary>
public sealed record SharedExperts
{
    public int Count { get; init; } = 1;
    public int Hidden { get; init; } = 64;

    public void Validate(Validator v, string path)
    {
        v.Require(Count >= 1, $"{path}.count", $"{Count} must be at least 1 (leave shared out for none)");
        v.Require(Hidden >= 1, $"{path}.hidden", $"{Hidden} must be at least 1");
    }
}

/// <summary>Which tokens the load-balancing frequencies f_i are counted over (arXiv 2501.11873).</summary>
public enum BalanceScope
{
    /// <summary>f_i and p_i from the current micro-batch.</summary>
    MicroBatch,
    /// <summary>f_i from every micro-batch of the optimizer step so far (and every data-parallel
    /// replica), p_i from the current micro-batch.</summary>
    GlobalBatch,
}

/// <summary>Load-balancing loss Coefficient * E * sum_i f_i p_i (Switch Transformer eq. 4), counted over Scope.</summary>
public sealed record LoadBalance
{
    public BalanceScope Scope { get; init; } = BalanceScope.GlobalBatch;
    public double Coefficient { get; init; } = 1e-3;

    public void Validate(Validator v, string path)
    {
        v.Require(Enum.IsDefined(Scope), $"{path}.scope", $"{Scope} is not a known balance scope");
        v.Require(double.IsFinite(Coefficient) && Coefficient >= 0, $"{path}.coefficient", $"{Validator.Show(Coefficient)} must be non-negative and finite");
    }
}
