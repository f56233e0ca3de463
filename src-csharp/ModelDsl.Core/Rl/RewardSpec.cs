using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Rl;

/// <summary>
/// The verifiable reward: Scale when the task's verifier accepts the final answer, else 0. With
/// RequireFormat, a completion must also be well formed (it ended with the stop token right after
/// exactly the task's answer length; without a stop token every completion has the full length and is
/// well formed) to earn the reward.
/// </summary>
public sealed record RewardSpec
{
    /// <summary>1: a plain 0/1 reward (QuestA scales it by 5, which only rescales un-normalised advantages).</summary>
    public double Scale { get; init; } = 1.0;
    public bool RequireFormat { get; init; }

    public void Validate(Validator v, string path) => v.Positive(Scale, $"{path}.scale");
}
