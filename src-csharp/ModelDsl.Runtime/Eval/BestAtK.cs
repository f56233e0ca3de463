namespace ModelDsl.Runtime.Eval;

/// <summary>
/// Best@k (PAPERS.md §5): among k samples, keep the one a score ranks highest, and count its verdict.
/// By a perfect verifier this is pass@k (a correct sample is kept whenever one exists, see
/// <see cref="PassAtK"/>). By a score (the model's summed log-probability), the value is the exact mean
/// over all C(n, k) subsets of the n samples: rank the samples by score (ties: earlier sample first);
/// the sample at rank r (0-based) is the subset's best exactly when it is in the subset and the other
/// k - 1 come from the n - 1 - r below it, with probability w_r = C(n-1-r, k-1) / C(n, k).
/// w_0 = k / n and w_(r+1) = w_r (n - r - k) / (n - 1 - r), a product with no binomials.
/// </summary>
public static class BestAtK
{
    /// <summary>Best@k by a perfect verifier: pass@k.</summary>
    public static double ByVerifier(int n, int c, int k) => PassAtK.Estimate(n, c, k);

    public static double ByScore(IReadOnlyList<double> scores, IReadOnlyList<bool> correct, int k)
    {
        var n = scores.Count;
        if (correct.Count != n) throw new ArgumentException($"{scores.Count} scores but {correct.Count} verdicts");
        if (k < 1 || k > n) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must lie in [1, n = {n}]");
        if (scores.Any(double.IsNaN)) throw new ArgumentException("a score is NaN");
        var ranked = Enumerable.Range(0, n).OrderByDescending(i => scores[i]).ThenBy(i => i).ToArray();
        var weight = (double)k / n;
        var value = 0.0;
        for (var r = 0; r <= n - k; r++)
        {
            if (correct[ranked[r]]) value += weight;
            if (r < n - 1) weight *= (double)(n - r - k) / (n - 1 - r);
        }
        return value;
    }
}
