namespace ModelDsl.Runtime.Eval;

/// <summary>
/// maj@k (PAPERS.md §5): the probability that the majority final answer of k samples drawn without
/// replacement from a problem's n samples is correct, i.e. the mean over all C(n, k) subsets of the
/// majority vote's verdict. Tie rule: among answers with the most votes, the one whose earliest
/// sample (lowest sampling index) in the subset comes first wins; the verdict is that sample's.
/// Estimator: every subset is enumerated when C(n, k) &lt;= <see cref="ExactSubsetLimit"/> (exact);
/// otherwise the mean over <see cref="SampledSubsets"/> uniformly drawn subsets from a generator
/// seeded with the given seed (unbiased, standard error at most 0.5 / sqrt(SampledSubsets) ~ 0.008).
/// At k = n this is the plain majority vote over all samples.
/// </summary>
public static class MajorityAtK
{
    public const int ExactSubsetLimit = 20_000;
    public const int SampledSubsets = 4_000;

    public static double Estimate(IReadOnlyList<string> answers, IReadOnlyList<bool> correct, int k, long seed = 0)
    {
        var n = answers.Count;
        if (correct.Count != n) throw new ArgumentException($"{answers.Count} answers but {correct.Count} verdicts");
        if (k < 1 || k > n) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must lie in [1, n = {n}]");
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var answerIds = answers.Select(a => ids.TryGetValue(a, out var id) ? id : ids[a] = ids.Count).ToArray();
        var verdicts = correct.ToArray();
        var votes = new int[ids.Count];
        var subset = new int[k];
        if (SubsetCountAtMost(n, k, ExactSubsetLimit) is { } count)
        {
            for (var i = 0; i < k; i++) subset[i] = i;
            var wins = 0;
            do
            {
                if (Vote(answerIds, verdicts, subset, votes)) wins++;
            } while (NextCombination(subset, n));
            return (double)wins / count;
        }
        var random = new Random(unchecked((int)(seed ^ (seed >> 32))));
        var pool = Enumerable.Range(0, n).ToArray();
        var sampledWins = 0;
        for (var s = 0; s < SampledSubsets; s++)
        {
            // Partial Fisher-Yates: the first k entries of pool are a uniform k-subset.
            for (var i = 0; i < k; i++)
            {
                var j = random.Next(i, n);
                (pool[i], pool[j]) = (pool[j], pool[i]);
            }
            Array.Copy(pool, subset, k);
            Array.Sort(subset);
            if (Vote(answerIds, verdicts, subset, votes)) sampledWins++;
        }
        return (double)sampledWins / SampledSubsets;
    }

    /// <summary>The verdict of the majority vote over the samples in <paramref name="subset"/> (increasing indices), with the tie rule above.</summary>
    public static bool MajorityCorrect(IReadOnlyList<string> answers, IReadOnlyList<bool> correct, IReadOnlyList<int> subset)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var answerIds = answers.Select(a => ids.TryGetValue(a, out var id) ? id : ids[a] = ids.Count).ToArray();
        var sorted = subset.Order().ToArray();
        return Vote(answerIds, correct.ToArray(), sorted, new int[ids.Count]);
    }

    private static bool Vote(int[] answerIds, bool[] correct, int[] subset, int[] votes)
    {
        foreach (var i in subset) votes[answerIds[i]]++;
        // Scanning in increasing sample order and replacing only on strictly more votes keeps, among
        // tied answers, the one seen first, i.e. the one whose earliest sample comes first.
        var best = subset[0];
        foreach (var i in subset)
            if (votes[answerIds[i]] > votes[answerIds[best]]) best = i;
        var verdict = correct[best];
        foreach (var i in subset) votes[answerIds[i]] = 0;
        return verdict;
    }

    /// <summary>C(n, k) when it is at most <paramref name="limit"/>, else null.</summary>
    private static long? SubsetCountAtMost(int n, int k, long limit)
    {
        k = Math.Min(k, n - k);
        long count = 1;
        for (var i = 1; i <= k; i++)
        {
            count = count * (n - k + i) / i; // exact: C(n-k+i, i) is an integer at every step
            if (count > limit) return null;
        }
        return count;
    }

    /// <summary>Advances an increasing k-subset of [0, n) to the next one in lexicographic order; false after the last.</summary>
    private static bool NextCombination(int[] subset, int n)
    {
        var k = subset.Length;
        var i = k - 1;
        while (i >= 0 && subset[i] == n - k + i) i--;
        if (i < 0) return false;
        subset[i]++;
        for (var j = i + 1; j < k; j++) subset[j] = subset[j - 1] + 1;
        return true;
    }
}
