using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Rl;

/// <summary>How advantages are computed from the rewards of a step (see <see cref="AdvantageNormalization"/>).</summary>
public sealed record AdvantageSpec
{
    /// <summary>Group: GRPO as in TRL (scale_rewards="group") and verl (algorithm.adv_estimator=grpo).</summary>
    public AdvantageNormalization Normalization { get; init; } = AdvantageNormalization.Group;
    /// <summary>Unbiased: TRL and verl call torch.std, which applies Bessel's correction.</summary>
    public StandardDeviation Std { get; init; } = StandardDeviation.Unbiased;
    /// <summary>1e-6: verl compute_grpo_outcome_advantage's epsilon (TRL adds 1e-4).</summary>
    public double Eps { get; init; } = 1e-6;

    public void Validate(Validator v, string path)
    {
        v.Require(Enum.IsDefined(Normalization), $"{path}.normalization", $"{Normalization} is not a known normalization");
        v.Require(Enum.IsDefined(Std), $"{path}.std", $"{Std} is not a known standard deviation");
        v.Positive(Eps, $"{path}.eps");
    }
}
