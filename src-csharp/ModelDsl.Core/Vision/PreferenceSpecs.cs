using ModelDsl.Core.Validation;
using ModelDsl.Core.Variants;

namespace ModelDsl.Core.Vision;

/// <summary>
/// The objective of preference post-training (<see cref="ExperimentSpec.Preference"/>): a loss over
/// minimal contrast pairs of the policy against a frozen reference (the init model).
/// </summary>
public abstract record PreferenceObjective
{
    public abstract void Validate(Validator v, string path);
}

/// <summary>
/// S-VCO (arXiv 2502.13928) on a minimal contrast pair (I_w, T_w), (I_l, T_l), with
/// l(T|I) = log pi(T|I) - log pi_ref(T|I) summed over the response tokens and 0 the null image:
/// L = -log s(b1 [l(Tw|Iw) - l(Tw|0)]) - log s(b2 [l(Tw|0) - l(Tw|Il)])
///     -log s(b3 [l(Tl|Il) - l(Tl|0)]) - log s(b4 [l(Tl|0) - l(Tl|Iw)]).
/// One beta per term; a beta of zero or less removes its term.
/// </summary>
[Kind("svco")]
public sealed record SvcoSpec : PreferenceObjective
{
    /// <summary>b1: the winner text attends to its own image rather than none.</summary>
    public double BetaWinnerAttend { get; init; } = 0.1;
    /// <summary>b2: the winner text rejects the contrasting image relative to none.</summary>
    public double BetaWinnerReject { get; init; } = 0.1;
    /// <summary>b3: the loser text attends to its own image.</summary>
    public double BetaLoserAttend { get; init; } = 0.1;
    /// <summary>b4: the loser text rejects the winner's image.</summary>
    public double BetaLoserReject { get; init; } = 0.1;

    public override void Validate(Validator v, string path)
    {
        void Finite(double b, string name) => v.Require(double.IsFinite(b), $"{path}.{name}", $"{Validator.Show(b)} must be a finite number");
        Finite(BetaWinnerAttend, "betaWinnerAttend");
        Finite(BetaWinnerReject, "betaWinnerReject");
        Finite(BetaLoserAttend, "betaLoserAttend");
        Finite(BetaLoserReject, "betaLoserReject");
        v.Require(BetaWinnerAttend > 0 || BetaWinnerReject > 0 || BetaLoserAttend > 0 || BetaLoserReject > 0, path,
            "every beta is zero or negative, which disables all four terms");
    }
}

/// <summary>The preference objectives compared with S-VCO.</summary>
public enum PreferenceKind
{
    /// <summary>DPO on the text pair with the image fixed: prefer T_w over T_l given I_w.</summary>
    TextDpo,
    /// <summary>Image preference only (mDPO-style): prefer (I_w, T_w) over (I_l, T_w).</summary>
    ImageDpo,
}

/// <summary>A DPO-style objective -log s(beta [margin]) (Rafailov et al. 2023, eq. 7).</summary>
public sealed record PreferenceSpec
{
    public PreferenceKind Kind { get; init; } = PreferenceKind.TextDpo;
    public double Beta { get; init; } = 0.1;

    public void Validate(Validator v, string path)
    {
        v.Require(Enum.IsDefined(Kind), $"{path}.kind", $"{Kind} is not a known preference objective");
        v.Positive(Beta, $"{path}.beta");
    }
}

/// <summary>DPO on the text pair with the image fixed: prefer T_w over T_l given I_w (Rafailov et al. 2023, eq. 7).</summary>
[Kind("textDpo")]
public sealed record TextDpoSpec : PreferenceObjective
{
    public double Beta { get; init; } = 0.1;

    public override void Validate(Validator v, string path) => v.Positive(Beta, $"{path}.beta");

    /// <summary>The same objective as the pairwise <see cref="PreferenceSpec"/> the runtime's losses take.</summary>
    public PreferenceSpec ToPreferenceSpec() => new() { Kind = PreferenceKind.TextDpo, Beta = Beta };
}

/// <summary>Image preference only (mDPO-style): prefer (I_w, T_w) over (I_l, T_w).</summary>
[Kind("imageDpo")]
public sealed record ImageDpoSpec : PreferenceObjective
{
    public double Beta { get; init; } = 0.1;

    public override void Validate(Validator v, string path) => v.Positive(Beta, $"{path}.beta");

    /// <summary>The same objective as the pairwise <see cref="PreferenceSpec"/> the runtime's losses take.</summary>
    public PreferenceSpec ToPreferenceSpec() => new() { Kind = PreferenceKind.ImageDpo, Beta = Beta };
}
