using ModelDsl.Core.Generation;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Rl;

/// <summary>
/// GRPO-family post-training with verifiable rewards (PAPERS.md §2). One RL step samples G completions
/// for each of PromptsPerStep prompts (so a step has PromptsPerStep x G completions), scores them with
/// the task's verifier, turns rewards into advantages, and takes Mu optimizer steps on that batch, each
/// accumulating gradients over micro-batches of MicroBatch completions.
/// </summary>
public sealed record RlSpec
{
    /// <summary>G, completions per prompt. 8: TRL GRPOConfig.num_generations (QuestA uses 16).</summary>
    public int GroupSize { get; init; } = 8;
    /// <summary>PROMPTS per RL step (not completions; completions = PromptsPerStep x GroupSize). 32: scaled
    /// down for small models from verl's data.train_batch_size and QuestA's 128 prompts per batch.</summary>
    public int PromptsPerStep { get; init; } = 32;
    /// <summary>Temperature 1, top-p 1: TRL's and verl's rollout defaults (QuestA trains at temperature 1).
    /// Temperature must be positive: RL needs sampling.</summary>
    public SamplingSpec Sampling { get; init; } = new();
    /// <summary>Tokens sampled per completion; null: the task's answer length (TRL max_completion_length=256 targets text).</summary>
    public int? MaxNewTokens { get; init; }
    /// <summary>Token that ends a completion; tokens after it are masked out. Null: completions run to MaxNewTokens.</summary>
    public long? StopToken { get; init; }
    public AdvantageSpec Advantage { get; init; } = new();
    /// <summary>TokenMean: verl's loss_agg_mode default "token-mean" and TRL's loss_type default "dapo".</summary>
    public LossAggregation Aggregation { get; init; } = LossAggregation.TokenMean;
    /// <summary>C of <see cref="LossAggregation.ConstantNormalizer"/>; null: the max new tokens (Dr. GRPO).</summary>
    public double? AggregationConstant { get; init; }
    public ClippingSpec Clipping { get; init; } = new();
    public KlSpec Kl { get; init; } = new();
    /// <summary>Optimizer steps per sampled batch (GRPO's mu). 1: TRL num_iterations, verl ppo_epochs.</summary>
    public int Mu { get; init; } = 1;
    /// <summary>Exclude completions that hit MaxNewTokens without the stop token from the loss. False: TRL mask_truncated_completions.</summary>
    public bool MaskTruncated { get; init; }
    /// <summary>Null: off (TRL and verl sample once; DAPO and QuestA filter).</summary>
    public DynamicSamplingSpec? DynamicSampling { get; init; }
    /// <summary>Coefficient of the entropy bonus (loss -= c * entropy). 0: verl actor.entropy_coeff; TRL has none.</summary>
    public double EntropyCoefficient { get; init; }
    /// <summary>Completions per forward/backward pass of the update; a memory knob that leaves the
    /// gradient unchanged (the loss normaliser counts the whole batch). 64: a small-model choice
    /// (verl's ppo_micro_batch_size_per_gpu plays this role).</summary>
    public int MicroBatch { get; init; } = 64;
    public RewardSpec Reward { get; init; } = new();
    /// <summary>QuestA hints for training prompts; null: no hints.</summary>
    public HintSpec? Hints { get; init; }

    [System.Text.Json.Serialization.JsonIgnore]
    public int CompletionsPerStep => PromptsPerStep * GroupSize;

    public void Validate(Validator v, string path)
    {
        v.Require(GroupSize >= 2, $"{path}.groupSize", $"{GroupSize} must be at least 2 (a group needs two completions to compare)");
        v.Require(PromptsPerStep >= 1, $"{path}.promptsPerStep", $"{PromptsPerStep} must be at least 1");
        if (Sampling is null) v.Fail($"{path}.sampling", "is missing");
        else
        {
            Sampling.Validate(v, $"{path}.sampling");
            v.Require(Sampling.Temperature > 0, $"{path}.sampling.temperature", "must be positive: RL samples its completions (0 would be greedy)");
        }
        if (MaxNewTokens is { } m) v.Require(m >= 1, $"{path}.maxNewTokens", $"{m} must be at least 1");
        if (StopToken is { } s) v.Require(s >= 0, $"{path}.stopToken", $"{s} must be a token id (zero or positive)");
        if (Advantage is null) v.Fail($"{path}.advantage", "is missing"); else Advantage.Validate(v, $"{path}.advantage");
        v.Require(Enum.IsDefined(Aggregation), $"{path}.aggregation", $"{Aggregation} is not a known aggregation");
        if (AggregationConstant is { } c) v.Positive(c, $"{path}.aggregationConstant");
        if (Clipping is null) v.Fail($"{path}.clipping", "is missing"); else Clipping.Validate(v, $"{path}.clipping");
        if (Kl is null) v.Fail($"{path}.kl", "is missing"); else Kl.Validate(v, $"{path}.kl");
        v.Require(Mu >= 1, $"{path}.mu", $"{Mu} must be at least 1");
        DynamicSampling?.Validate(v, $"{path}.dynamicSampling");
        v.NonNegative(EntropyCoefficient, $"{path}.entropyCoefficient");
        v.Require(MicroBatch >= 1, $"{path}.microBatch", $"{MicroBatch} must be at least 1");
        if (Reward is null) v.Fail($"{path}.reward", "is missing"); else Reward.Validate(v, $"{path}.reward");
        Hints?.Validate(v, $"{path}.hints");
    }

    /// <summary>Throws a <see cref="SpecValidationException"/> listing every broken rule under "rl".</summary>
    public void EnsureValid(string path = "rl")
    {
        var v = new Validator();
        Validate(v, path);
        v.ThrowIfAny();
    }
}
