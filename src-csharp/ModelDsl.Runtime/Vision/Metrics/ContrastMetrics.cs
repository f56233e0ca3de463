namespace ModelDsl.Runtime.Vision;

/// <summary>
/// What a model's scores on a set of contrast pairs say about its use of the image.
/// <list type="bullet">
/// <item>PairedAccuracy: a pair counts only if both members are right (T_w preferred to T_l given I_w,
/// and T_l to T_w given I_l).</item>
/// <item>MemberAccuracy: the fraction of the 2N members that are right.</item>
/// <item>AgainstPriorAccuracy: the same over members whose scene contradicts the language prior
/// (NaN when there is none), AgainstPriorMembers their number.</item>
/// <item>VisualReliance: mean over members of log p(T|I) - log p(T|0) for the matching text and image.</item>
/// <item>The four mean S-VCO margins (relative to the reference when one was given, else raw log-probs).</item>
/// </list>
/// </summary>
public sealed record ContrastMetrics(
    int Pairs, double PairedAccuracy, double MemberAccuracy, int AgainstPriorMembers, double AgainstPriorAccuracy,
    double VisualReliance, double MarginWinnerAttend, double MarginWinnerReject, double MarginLoserAttend, double MarginLoserReject)
{
    /// <param name="scores">The model's scores, one per pair.</param>
    /// <param name="pairs">The pairs, for the prior flags.</param>
    /// <param name="referenceScores">The frozen reference's scores for the margins; null: margins of the raw log-probs.</param>
    public static ContrastMetrics From(IReadOnlyList<ContrastScores> scores, IReadOnlyList<ContrastPair> pairs,
        IReadOnlyList<ContrastScores>? referenceScores = null)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(pairs);
        if (scores.Count == 0) throw new ArgumentException("metrics need at least one pair", nameof(scores));
        if (pairs.Count != scores.Count) throw new ArgumentException($"{scores.Count} scores for {pairs.Count} pairs");
        if (referenceScores is not null && referenceScores.Count != scores.Count)
            throw new ArgumentException($"{referenceScores.Count} reference scores for {scores.Count} pairs");
        var n = scores.Count;
        int bothRight = 0, membersRight = 0, againstPrior = 0, againstPriorRight = 0;
        double reliance = 0, m1 = 0, m2 = 0, m3 = 0, m4 = 0;
        for (var i = 0; i < n; i++)
        {
            var s = scores[i];
            if (s.WinnerImageRight && s.LoserImageRight) bothRight++;
            membersRight += (s.WinnerImageRight ? 1 : 0) + (s.LoserImageRight ? 1 : 0);
            if (pairs[i].WinnerAgainstPrior) { againstPrior++; if (s.WinnerImageRight) againstPriorRight++; }
            if (pairs[i].LoserAgainstPrior) { againstPrior++; if (s.LoserImageRight) againstPriorRight++; }
            reliance += (s.WinnerWithWinnerImage - s.WinnerWithoutImage) + (s.LoserWithLoserImage - s.LoserWithoutImage);
            var margins = (referenceScores is null ? s : s - referenceScores[i]).Margins;
            m1 += margins.WinnerAttend;
            m2 += margins.WinnerReject;
            m3 += margins.LoserAttend;
            m4 += margins.LoserReject;
        }
        return new ContrastMetrics(n, (double)bothRight / n, membersRight / (2.0 * n), againstPrior,
            againstPrior == 0 ? double.NaN : (double)againstPriorRight / againstPrior,
            reliance / (2 * n), m1 / n, m2 / n, m3 / n, m4 / n);
    }

    /// <summary>The metrics of each contrast kind present, separately (kinds differ widely in difficulty).</summary>
    public static IReadOnlyDictionary<Core.Vision.ContrastKind, ContrastMetrics> ByKind(IReadOnlyList<ContrastScores> scores,
        IReadOnlyList<ContrastPair> pairs, IReadOnlyList<ContrastScores>? referenceScores = null)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(pairs);
        if (pairs.Count != scores.Count) throw new ArgumentException($"{scores.Count} scores for {pairs.Count} pairs");
        return Enumerable.Range(0, pairs.Count).GroupBy(i => pairs[i].Kind).OrderBy(g => g.Key).ToDictionary(g => g.Key, g => From(
            g.Select(i => scores[i]).ToList(), g.Select(i => pairs[i]).ToList(), referenceScores is null ? null : g.Select(i => referenceScores[i]).ToList()));
    }
}
