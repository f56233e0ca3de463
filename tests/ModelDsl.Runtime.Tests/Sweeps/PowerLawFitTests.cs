using ModelDsl.Runtime.Sweeps;

namespace ModelDsl.Runtime.Tests.Sweeps;

public class PowerLawFitTests
{
    private static readonly double[] Ratios = [1, 2, 4, 8];
    // PAPERS.md §1: 130M-parameter AdamW and Muon final losses at 1, 2, 4 and 8x Chinchilla.
    private static readonly double[] AdamWLosses = [3.529, 3.409, 3.322, 3.262];
    private static readonly double[] MuonLosses = [3.464, 3.369, 3.296, 3.240];

    [Fact]
    public void Reproduces_the_papers_fit_of_the_AdamW_losses()
    {
        var fit = PowerLawFit.Fit(Ratios, AdamWLosses);
        Assert.Equal(0.41722, fit.Alpha, 3e-4);
        Assert.Equal(0.49261, fit.Exponent, 3e-4);
        Assert.Equal(3.11193, fit.Beta, 3e-4);
    }

    [Fact]
    public void Reproduces_the_papers_Muon_speedups()
    {
        var fit = PowerLawFit.Fit(Ratios, AdamWLosses);
        var speedups = MuonLosses.Select((loss, i) => fit.Speedup(loss, Ratios[i])).ToArray();
        Assert.Equal([1.41, 1.34, 1.32, 1.37], speedups.Select(s => Math.Round(s, 2)));
    }

    [Fact]
    public void The_fit_is_a_least_squares_minimum()
    {
        // Independent check of optimality: every small move of any parameter increases the residual.
        var fit = PowerLawFit.Fit(Ratios, AdamWLosses);
        double Residual(double a, double b, double c) => Ratios.Select((k, i) => Math.Pow(a * Math.Pow(k, -b) + c - AdamWLosses[i], 2)).Sum();
        var at = Residual(fit.Alpha, fit.Exponent, fit.Beta);
        Assert.Equal(fit.SumOfSquares, at, 1e-12);
        foreach (var h in new[] { 1e-3, -1e-3 })
        {
            Assert.True(Residual(fit.Alpha + h, fit.Exponent, fit.Beta) > at);
            Assert.True(Residual(fit.Alpha, fit.Exponent + h, fit.Beta) > at);
            Assert.True(Residual(fit.Alpha, fit.Exponent, fit.Beta + h) > at);
        }
    }

    [Fact]
    public void Exact_power_law_data_is_recovered_and_inverted()
    {
        double[] k = [0.5, 1, 2, 4, 8, 16];
        var losses = k.Select(x => 1.3 * Math.Pow(x, -0.7) + 2.2).ToArray();
        var fit = PowerLawFit.Fit(k, losses);
        Assert.Equal(1.3, fit.Alpha, 1e-6);
        Assert.Equal(0.7, fit.Exponent, 1e-6);
        Assert.Equal(2.2, fit.Beta, 1e-6);
        // The loss the baseline reaches at k = 3 maps back to k_eff = 3; at k = 1.5 it is a 2x speedup.
        Assert.Equal(3.0, fit.EquivalentRatio(1.3 * Math.Pow(3, -0.7) + 2.2), 1e-5);
        Assert.Equal(2.0, fit.Speedup(1.3 * Math.Pow(3, -0.7) + 2.2, 1.5), 1e-5);
        Assert.Equal(double.PositiveInfinity, fit.EquivalentRatio(2.1));
    }

    [Fact]
    public void Too_few_ratios_are_rejected()
    {
        var e = Assert.Throws<ArgumentException>(() => PowerLawFit.Fit([1, 2], [3.5, 3.4]));
        Assert.Contains("3 or more", e.Message);
    }
}
