using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Rl;

/// <summary>
/// The KL penalty to a frozen reference model. Beta = 0 turns it off, and then no reference model
/// is kept at all.
/// </summary>
public sealed record KlSpec
{
    /// <summary>0: TRL GRPOConfig.beta defaults to 0.0 and verl's use_kl_loss to false; QuestA trains without KL.</summary>
    public double Beta { get; init; }
    /// <summary>k3: GRPO's estimator (Shao et al. 2024, eq. 4), verl kl_loss_type=low_var_kl, TRL's only one.</summary>
    public KlEstimator Estimator { get; init; } = KlEstimator.K3;
    /// <summary>Loss: GRPO adds the KL to the loss rather than to the reward.</summary>
    public KlPlacement Placement { get; init; } = KlPlacement.Loss;

    public void Validate(Validator v, string path)
    {
        v.NonNegative(Beta, $"{path}.beta");
        v.Require(Enum.IsDefined(Estimator), $"{path}.estimator", $"{Estimator} is not a known estimator");
        v.Require(Enum.IsDefined(Placement), $"{path}.placement", $"{Placement} is not a known placement");
    }

    [System.Text.Json.Serialization.JsonIgnore]
    public bool UsesReference => Beta > 0;
}
