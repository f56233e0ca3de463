using System.Numerics;
using ModelDsl.Runtime.Eval;

namespace ModelDsl.Runtime.Tests.Eval;

public sealed class PassAtKTests
{
    private static BigInteger Binomial(int n, int k)
    {
        if (k < 0 || k > n) return BigInteger.Zero;
        BigInteger result = BigInteger.One;
        for (var i = 1; i <= k; i++) result = result * (n - k + i) / i;
        return result;
    }

    /// <summary>1 - C(n-c, k) / C(n, k) as an exact rational, rounded to double.</summary>
    private static double Exact(int n, int c, int k)
    {
        var denominator = Binomial(n, k);
        var numerator = denominator - Binomial(n - c, k);
        const int shift = 200;
        return (double)((numerator << shift) / denominator) / Math.Pow(2, shift);
    }

    public static TheoryData<int> Sizes => new([1, 2, 3, 5, 8, 13, 16, 50, 100, 173, 200]);

    [Theory]
    [MemberData(nameof(Sizes))]
    public void MatchesTheExactRationalForEveryCorrectCountAndK(int n)
    {
        var counts = new[] { 0, 1, 2, n / 3, n / 2, n - 2, n - 1, n }.Where(c => c >= 0 && c <= n).Distinct();
        var ks = new[] { 1, 2, 3, 5, 10, n / 4, n / 2, n - 1, n }.Where(k => k >= 1 && k <= n).Distinct().ToList();
        foreach (var c in counts)
            foreach (var k in ks)
            {
                var expected = Exact(n, c, k);
                var actual = PassAtK.Estimate(n, c, k);
                Assert.True(double.IsFinite(actual));
                Assert.True(Math.Abs(actual - expected) <= 1e-13 * expected + 1e-300,
                    $"n={n} c={c} k={k}: {actual:R} vs exact {expected:R}");
            }
    }

    [Fact]
    public void EdgeCasesAreExact()
    {
        Assert.Equal(0.0, PassAtK.Estimate(200, 0, 200));
        Assert.Equal(0.0, PassAtK.Estimate(200, 0, 1));
        Assert.Equal(1.0, PassAtK.Estimate(200, 200, 1));
        Assert.Equal(1.0, PassAtK.Estimate(200, 1, 200));   // n - c < k
        Assert.Equal(1.0, PassAtK.Estimate(10, 4, 7));      // 6 wrong samples cannot fill 7 draws
        Assert.Equal(0.3, PassAtK.Estimate(10, 3, 1), 15);  // pass@1 = c / n
        Assert.Throws<ArgumentOutOfRangeException>(() => PassAtK.Estimate(10, 11, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => PassAtK.Estimate(10, 3, 11));
        Assert.Throws<ArgumentOutOfRangeException>(() => PassAtK.Estimate(10, 3, 0));
    }

    [Fact]
    public void GrowsWithKAndWithTheCorrectCount()
    {
        for (var c = 0; c <= 40; c++)
            for (var k = 1; k < 40; k++)
            {
                Assert.True(PassAtK.Estimate(40, c, k + 1) >= PassAtK.Estimate(40, c, k));
                if (c < 40) Assert.True(PassAtK.Estimate(40, c + 1, k) >= PassAtK.Estimate(40, c, k));
            }
    }
}
