using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Rl;

/// <summary>
/// Dynamic sampling (DAPO, Yu et al. 2025 §3.2; QuestA's filter, PAPERS.md §2): a group whose success
/// rate (fraction of its G completions the verifier accepts) lies outside [Low, High] is dropped, and
/// groups of new prompts are sampled, at most MaxExtraRounds more times, until PromptsPerStep groups are kept.
/// </summary>
public sealed record DynamicSamplingSpec
{
    /// <summary>0.05: QuestA's band; with 16 samples it drops exactly the all-wrong groups.</summary>
    public double Low { get; init; } = 0.05;
    /// <summary>0.95: QuestA's band; with 16 samples it drops exactly the all-right groups.</summary>
    public double High { get; init; } = 0.95;
    /// <summary>10: the DAPO recipe's max_num_gen_batches in verl.</summary>
    public int MaxExtraRounds { get; init; } = 10;

    public void Validate(Validator v, string path)
    {
        v.Fraction(Low, $"{path}.low");
        v.Fraction(High, $"{path}.high");
        if (Low >= 0 && High <= 1) v.Require(Low <= High, $"{path}.high", $"{Validator.Show(High)} must be at least low ({Validator.Show(Low)})");
        v.Require(MaxExtraRounds >= 0, $"{path}.maxExtraRounds", $"{MaxExtraRounds} must be zero or positive");
    }

    /// <summary>True when a group with this success rate is kept.</summary>
    public bool Keeps(double successRate) => successRate >= Low && successRate <= High;
}
