using ModelDsl.Core.Validation;
using ModelDsl.Core.Vision;
using TorchSharp;
using static ModelDsl.Runtime.Layers.HeldScalars;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Vision;

/// <summary>A preference loss (scalar, mean over the batch) and its margins before beta, each [B] and detached.</summary>
public sealed record PreferenceLoss(Tensor Loss, IReadOnlyList<Tensor> Margins) : IDisposable
{
    public void Dispose()
    {
        Loss.Dispose();
        foreach (var m in Margins) m.Dispose();
    }
}

/// <summary>
/// The preference objectives as pure functions of summed response log-probs (policy and frozen
/// reference), so that they can be checked by hand in float64. Every term is -log s(beta * margin)
/// computed as -logsigmoid, which is finite and exact for any margin (log(sigmoid(z)) rounds to 0
/// for z above ~37 in float64 and underflows to -inf for z below ~-745).
/// </summary>
public static class PreferenceLosses
{
    /// <summary>-log s(z), stably.</summary>
    public static Tensor NegativeLogSigmoid(Tensor z) => nn.functional.logsigmoid(z).neg();

    /// <summary>
    /// S-VCO (PAPERS.md §7; arXiv 2502.13928): with l = policy - reference,
    /// margins m1 = l(Tw|Iw) - l(Tw|0), m2 = l(Tw|0) - l(Tw|Il), m3 = l(Tl|Il) - l(Tl|0), m4 = l(Tl|0) - l(Tl|Iw),
    /// loss = mean over pairs of the sum over enabled terms (beta_i > 0) of -log s(beta_i m_i).
    /// </summary>
    public static PreferenceLoss Svco(ContrastLogProbs policy, ContrastLogProbs reference, SvcoSpec spec)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(spec);
        var v = new Validator();
        spec.Validate(v, "svco");
        v.ThrowIfAny();
        using var scope = NewDisposeScope();
        var l = policy.Minus(reference);
        Tensor[] margins =
        [
            l.WinnerWithWinnerImage - l.WinnerWithoutImage,
            l.WinnerWithoutImage - l.WinnerWithLoserImage,
            l.LoserWithLoserImage - l.LoserWithoutImage,
            l.LoserWithoutImage - l.LoserWithWinnerImage,
        ];
        double[] betas = [spec.BetaWinnerAttend, spec.BetaWinnerReject, spec.BetaLoserAttend, spec.BetaLoserReject];
        Tensor? total = null;
        for (var i = 0; i < 4; i++)
        {
            if (!(betas[i] > 0)) continue;
            // beta and the sum's alpha held past the native calls (see HeldScalars).
            using var beta = betas[i].ToScalar();
            var term = NegativeLogSigmoid(margins[i].mul(beta));
            total = total is null ? term : total.add(term, One);
        }
        var loss = total!.mean();
        return new PreferenceLoss(loss.MoveToOuterDisposeScope(), margins.Select(m => m.detach().MoveToOuterDisposeScope()).ToList());
    }

    /// <summary>
    /// DPO on the text pair with the image fixed to I_w (Rafailov et al. 2023, eq. 7):
    /// margin = [log pi(Tw|Iw) - log pi_ref(Tw|Iw)] - [log pi(Tl|Iw) - log pi_ref(Tl|Iw)].
    /// </summary>
    public static PreferenceLoss TextDpo(Tensor policyWinner, Tensor policyLoser, Tensor referenceWinner, Tensor referenceLoser, double beta) =>
        Dpo(policyWinner, policyLoser, referenceWinner, referenceLoser, beta);

    /// <summary>
    /// Image preference only (mDPO's conditional term, Wang et al. 2024): prefer (I_w, T_w) over (I_l, T_w):
    /// margin = [log pi(Tw|Iw) - log pi_ref(Tw|Iw)] - [log pi(Tw|Il) - log pi_ref(Tw|Il)].
    /// </summary>
    public static PreferenceLoss ImageDpo(Tensor policyMatched, Tensor policyContrasted, Tensor referenceMatched, Tensor referenceContrasted, double beta) =>
        Dpo(policyMatched, policyContrasted, referenceMatched, referenceContrasted, beta);

    /// <summary>The objective of a <see cref="PreferenceSpec"/> from the six log-probs of both models.</summary>
    public static PreferenceLoss Of(PreferenceSpec spec, ContrastLogProbs policy, ContrastLogProbs reference) => spec.Kind switch
    {
        PreferenceKind.TextDpo => TextDpo(policy.WinnerWithWinnerImage, policy.LoserWithWinnerImage,
            reference.WinnerWithWinnerImage, reference.LoserWithWinnerImage, spec.Beta),
        PreferenceKind.ImageDpo => ImageDpo(policy.WinnerWithWinnerImage, policy.WinnerWithLoserImage,
            reference.WinnerWithWinnerImage, reference.WinnerWithLoserImage, spec.Beta),
        _ => throw new ArgumentOutOfRangeException(nameof(spec), spec.Kind, "unknown preference objective"),
    };

    private static PreferenceLoss Dpo(Tensor policyPreferred, Tensor policyRejected, Tensor referencePreferred, Tensor referenceRejected, double beta)
    {
        if (!(beta > 0) || !double.IsFinite(beta)) throw new ArgumentOutOfRangeException(nameof(beta), beta, "beta must be a positive number");
        using var scope = NewDisposeScope();
        var margin = (policyPreferred - referencePreferred) - (policyRejected - referenceRejected);
        using var scale = beta.ToScalar();
        var loss = NegativeLogSigmoid(margin.mul(scale)).mean();
        return new PreferenceLoss(loss.MoveToOuterDisposeScope(), [margin.detach().MoveToOuterDisposeScope()]);
    }
}
