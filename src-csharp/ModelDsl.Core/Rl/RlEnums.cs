namespace ModelDsl.Core.Rl;

/// <summary>How group rewards become advantages (PAPERS.md §2, GRPO).</summary>
public enum AdvantageNormalization
{
    /// <summary>A = (R - mean_group) / (std_group + eps): GRPO (Shao et al. 2024, eq. 3); TRL scale_rewards="group", verl grpo.</summary>
    Group,
    /// <summary>A = (R - mean_batch) / (std_batch + eps) over every completion of the step: QuestA's released
    /// configs whiten over the whole batch (PAPERS.md §2; they whiten over tokens, here over completions).</summary>
    Batch,
    /// <summary>A = R - mean_group without dividing by a standard deviation: Dr. GRPO (Liu et al. 2025, §3.1).</summary>
    None,
}

/// <summary>Which standard deviation the advantage divides by.</summary>
public enum StandardDeviation
{
    /// <summary>Divide the squared deviations by n.</summary>
    Population,
    /// <summary>Divide by n - 1 (Bessel's correction; torch.std's default, used by TRL and verl).</summary>
    Unbiased,
}

/// <summary>
/// How per-token losses l_{i,t} (mask m_{i,t}, sequences i = 1..B of the WHOLE batch, lengths
/// |o_i| = sum_t m_{i,t}) are reduced to one number. The normaliser always counts the whole batch, so
/// accumulating micro-batches gives the same loss and gradient as one pass.
/// </summary>
public enum LossAggregation
{
    /// <summary>(1/B) sum_i (1/|o_i|) sum_t l_{i,t}: the GRPO paper's per-sequence mean (verl "seq-mean-token-mean").</summary>
    SequenceMean,
    /// <summary>sum_{i,t} l_{i,t} / sum_i |o_i|: DAPO's token-level mean (Yu et al. 2025, eq. 12; verl "token-mean", TRL "dapo").</summary>
    TokenMean,
    /// <summary>sum_{i,t} l_{i,t} / (B * C) with a constant C (max new tokens unless set): Dr. GRPO (Liu et al. 2025, §3.1; TRL "dr_grpo").</summary>
    ConstantNormalizer,
    /// <summary>(1/B) sum_i sum_t l_{i,t}: per-sequence sum, then mean over sequences (verl "seq-mean-token-sum").</summary>
    SequenceSum,
}

/// <summary>
/// Estimators of KL(pi || ref) per sampled token, with r = ref(o_t) / pi(o_t) (Schulman 2020,
/// "Approximating KL divergence"): k1 = -log r, k2 = (log r)^2 / 2, k3 = r - 1 - log r.
/// </summary>
public enum KlEstimator
{
    K1,
    K2,
    /// <summary>Unbiased and always non-negative; GRPO's choice (Shao et al. 2024, eq. 4); verl "low_var_kl".</summary>
    K3,
}

/// <summary>Where the KL penalty enters.</summary>
public enum KlPlacement
{
    /// <summary>beta * KL_t is added to each token's loss (GRPO, eq. 3; verl use_kl_loss).</summary>
    Loss,
    /// <summary>beta * sum_t KL_t (behaviour vs reference, measured at sampling time) is subtracted from each
    /// completion's reward before advantages (PPO-style in-reward penalty; verl use_kl_in_reward).</summary>
    Reward,
}
