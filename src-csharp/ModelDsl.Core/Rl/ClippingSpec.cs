using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Rl;

/// <summary>
/// The clipped surrogate (PPO, Schulman et al. 2017, eq. 7) with separate bounds: the ratio is clipped
/// to [1 - EpsLow, 1 + EpsHigh] (DAPO's clip-higher when EpsHigh > EpsLow, Yu et al. 2025 §3.1), and,
/// with DualClip c, the loss of a negative-advantage token is capped at -c * A (Ye et al. 2020, dual-clip PPO).
/// </summary>
public sealed record ClippingSpec
{
    /// <summary>0.2: TRL GRPOConfig.epsilon, verl actor.clip_ratio, QuestA's configs.</summary>
    public double EpsLow { get; init; } = 0.2;
    /// <summary>0.2: TRL epsilon_high defaults to epsilon, verl clip_ratio_high = 0.2 (DAPO uses 0.28).</summary>
    public double EpsHigh { get; init; } = 0.2;
    /// <summary>Dual-clip constant c > 1; null disables it (TRL has none; verl applies clip_ratio_c = 3.0).</summary>
    public double? DualClip { get; init; }

    public void Validate(Validator v, string path)
    {
        v.Require(EpsLow > 0 && EpsLow < 1, $"{path}.epsLow", $"{Validator.Show(EpsLow)} must lie strictly between 0 and 1");
        v.Positive(EpsHigh, $"{path}.epsHigh");
        if (DualClip is { } c) v.Require(c > 1 && double.IsFinite(c), $"{path}.dualClip", $"{Validator.Show(c)} must be greater than 1");
    }
}
