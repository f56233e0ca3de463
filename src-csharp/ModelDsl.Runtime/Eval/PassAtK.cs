namespace ModelDsl.Runtime.Eval;

/// <summary>
/// The unbiased pass@k estimator (Chen et al. 2021; PAPERS.md §5): with n samples of which c are
/// correct, pass@k = 1 - C(n-c, k) / C(n, k), and 1 when n - c &lt; k. The ratio is the product
/// prod_{i=n-c+1..n} (1 - k/i), summed in log space (log(1 + x)) and complemented with exp(x) - 1, both computed with Kahan's corrections, so no
/// factorial or binomial is formed and small values keep their relative precision.
/// </summary>
public static class PassAtK
{
    public static double Estimate(int n, int c, int k)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), n, "needs at least one sample");
        if (c < 0 || c > n) throw new ArgumentOutOfRangeException(nameof(c), c, $"correct samples must lie in [0, n = {n}]");
        if (k < 1 || k > n) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must lie in [1, n = {n}]");
        if (n - c < k) return 1.0;
        var logFailure = 0.0;
        for (var i = n - c + 1; i <= n; i++) logFailure += LogOnePlus(-(double)k / i);
        return -ExpMinusOne(logFailure);
    }

    // log(1 + x) and exp(x) - 1 accurate for small x (Kahan's corrections; the BCL's LogP1/ExpM1
    // evaluate log(x + 1) and exp(x) - 1 directly and lose the low digits).
    private static double LogOnePlus(double x)
    {
        var u = 1 + x;
        return u == 1 ? x : Math.Log(u) * x / (u - 1);
    }

    private static double ExpMinusOne(double x)
    {
        var u = Math.Exp(x);
        if (u == 1) return x;
        var um1 = u - 1;
        return um1 == -1 ? -1 : um1 * x / Math.Log(u);
    }

    /// <summary>The mean of <see cref="Estimate"/> over problems, each with its own (n, c).</summary>
    public static double Mean(IEnumerable<(int N, int C)> problems, int k)
    {
        var list = problems.ToList();
        if (list.Count == 0) throw new ArgumentException("no problems");
        return list.Average(p => Estimate(p.N, p.C, k));
    }
}
