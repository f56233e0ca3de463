namespace ModelDsl.Runtime.Eval;

/// <summary>
/// The distribution over problems of rho_x, a problem's pass@1 estimated as c_x / n (PAPERS.md §5):
/// mean, population variance (divided by the number of problems) and a histogram of Bins equal bins
/// over [0, 1] (bin i holds i/Bins &lt;= rho &lt; (i+1)/Bins; rho = 1 falls in the last bin).
/// </summary>
public sealed record PassRateStatistics(double Mean, double Variance, IReadOnlyList<int> Histogram)
{
    public static PassRateStatistics From(IReadOnlyList<(int Correct, int Samples)> problems, int bins = 10)
    {
        if (problems.Count == 0) throw new ArgumentException("no problems");
        if (bins < 1) throw new ArgumentOutOfRangeException(nameof(bins), bins, "needs at least one bin");
        var rho = problems.Select(p => (double)p.Correct / p.Samples).ToArray();
        var mean = rho.Average();
        var variance = rho.Sum(r => (r - mean) * (r - mean)) / rho.Length;
        var histogram = new int[bins];
        // Binned in integers (c * bins / n) so that rho = 3/10 is not pushed into the bin below by rounding.
        foreach (var (c, n) in problems) histogram[Math.Min(bins - 1, (int)((long)c * bins / n))]++;
        return new PassRateStatistics(mean, variance, histogram);
    }
}

/// <summary>
/// The bias-variance split of the failure rate (PAPERS.md §5): with rho the per-problem pass@1,
/// 1 - pass@k = E[(1 - rho)^k] = (1 - E rho)^k + (E[(1 - rho)^k] - (1 - E rho)^k). The first term is
/// the Jensen floor (the failure if every problem had the mean rho); the second, the variance part,
/// is never negative ((1 - rho)^k is convex) and at k = 2 equals Var(rho) exactly. Computed with the
/// plug-in rho = c / n, so Failure is the plug-in estimate, close to but not the unbiased
/// 1 - pass@k of <see cref="PassAtK"/>.
/// </summary>
public sealed record PassAtKDecomposition(int K, double Failure, double JensenFloor, double VariancePart)
{
    public static PassAtKDecomposition Of(IReadOnlyList<double> rho, int k)
    {
        if (rho.Count == 0) throw new ArgumentException("no problems");
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "k must be at least 1");
        var failure = rho.Average(r => Math.Pow(1 - r, k));
        var floor = Math.Pow(1 - rho.Average(), k);
        return new PassAtKDecomposition(k, failure, floor, failure - floor);
    }
}
