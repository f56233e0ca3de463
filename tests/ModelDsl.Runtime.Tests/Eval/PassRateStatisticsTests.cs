using ModelDsl.Runtime.Eval;

namespace ModelDsl.Runtime.Tests.Eval;

public sealed class PassRateStatisticsTests
{
    [Fact]
    public void BiasVarianceSplitHoldsOnRandomPassRates()
    {
        var random = new Random(11);
        for (var trial = 0; trial < 20; trial++)
        {
            var rho = Enumerable.Range(0, 50).Select(_ => Math.Pow(random.NextDouble(), 1 + trial % 3)).ToArray();
            var mean = rho.Average();
            var variance = rho.Sum(r => (r - mean) * (r - mean)) / rho.Length;
            for (var k = 1; k <= 16; k++)
            {
                var d = PassAtKDecomposition.Of(rho, k);
                var failure = rho.Average(r => Math.Pow(1 - r, k)); // 1 - pass@k = E[(1 - rho)^k]
                Assert.Equal(failure, d.Failure, 14);
                Assert.Equal(Math.Pow(1 - mean, k), d.JensenFloor, 14);
                Assert.Equal(d.Failure, d.JensenFloor + d.VariancePart, 14);
                Assert.True(d.VariancePart >= -1e-15, $"k={k}: {d.VariancePart}"); // Jensen: (1 - rho)^k is convex
                if (k == 1) Assert.Equal(0.0, d.VariancePart, 14);
                if (k == 2) Assert.Equal(variance, d.VariancePart, 14);
            }
        }
        // Same mean, more spread: a larger failure at k > 1 (PAPERS.md §5).
        Assert.True(PassAtKDecomposition.Of([0.0, 1.0], 4).Failure > PassAtKDecomposition.Of([0.5, 0.5], 4).Failure);
    }

    [Fact]
    public void PlugInFailureApproachesTheUnbiasedEstimateWithManySamples()
    {
        // For one problem, E over draws of the unbiased pass@k is 1 - (1 - rho)^k; with c = rho n the two agree as n grows.
        const int n = 200, c = 60, k = 4;
        var plugIn = 1 - PassAtKDecomposition.Of([c / (double)n], k).Failure;
        Assert.True(Math.Abs(plugIn - PassAtK.Estimate(n, c, k)) < 0.01);
    }

    [Fact]
    public void HistogramBinsExactFractionsWithoutRoundingDown()
    {
        var statistics = PassRateStatistics.From([(0, 10), (3, 10), (7, 10), (10, 10), (10, 10), (1, 3)], bins: 10);
        Assert.Equal([1, 0, 0, 2, 0, 0, 0, 1, 0, 2], statistics.Histogram);
        Assert.Equal((0 + 0.3 + 0.7 + 1 + 1 + 1.0 / 3) / 6, statistics.Mean, 14);
    }
}
