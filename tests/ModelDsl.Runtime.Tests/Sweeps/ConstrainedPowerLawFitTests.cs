using ModelDsl.Runtime.Sweeps;

namespace ModelDsl.Runtime.Tests.Sweeps;

public class ConstrainedPowerLawFitTests
{
    private static readonly double[] Ratios = [1, 2, 4, 8];

    private static double[] Law(double alpha, double b, double beta, double[] ratios) =>
        ratios.Select(k => alpha * Math.Pow(k, -b) + beta).ToArray();

    [Theory]
    [InlineData(0.8, 0.5, 2.0)]
    [InlineData(1.5, 0.3, 1.2)]
    [InlineData(0.4, 1.2, 3.1)]
    public void Recovers_known_parameters_from_exact_data(double alpha, double b, double beta)
    {
        var ratios = new double[] { 0.5, 1, 2, 4, 8 };
        var fit = ConstrainedPowerLawFit.Fit(ratios, Law(alpha, b, beta, ratios));
        Assert.True(fit.Reliable, string.Join("; ", fit.Problems));
        Assert.Equal(alpha, fit.Fit.Alpha, 1e-5);
        Assert.Equal(b, fit.Fit.Exponent, 1e-5);
        Assert.Equal(beta, fit.Fit.Beta, 1e-5);
    }

    [Fact]
    public void Recovers_parameters_to_tolerance_under_small_noise()
    {
        // Known law plus fixed +-0.002 noise (0.3% of the loss range): parameters within a few percent.
        var clean = Law(0.8, 0.5, 2.0, Ratios);
        double[] noise = [0.002, -0.002, 0.002, -0.002];
        var fit = ConstrainedPowerLawFit.Fit(Ratios, clean.Zip(noise, (l, e) => l + e).ToArray());
        Assert.True(fit.Reliable, string.Join("; ", fit.Problems));
        Assert.InRange(fit.Fit.Exponent, 0.4, 0.6);
        Assert.InRange(fit.Fit.Beta, 1.9, 2.1);
    }

    [Fact]
    public void Papers_AdamW_losses_give_the_unconstrained_fit_which_lies_inside_the_bounds()
    {
        // PAPERS.md §1: the 130M AdamW losses; the unconstrained optimum (beta 3.11 < 3.262) is feasible,
        // so the constrained fit equals it.
        double[] losses = [3.529, 3.409, 3.322, 3.262];
        var free = PowerLawFit.Fit(Ratios, losses);
        var fit = ConstrainedPowerLawFit.Fit(Ratios, losses);
        Assert.True(fit.Reliable, string.Join("; ", fit.Problems));
        Assert.Equal(free.Alpha, fit.Fit.Alpha, 1e-4);
        Assert.Equal(free.Exponent, fit.Fit.Exponent, 1e-4);
        Assert.Equal(free.Beta, fit.Fit.Beta, 1e-4);
    }

    [Fact]
    public void A_linear_fall_in_log_k_puts_beta_on_its_lower_bound_and_is_flagged()
    {
        // The old sweep's AdamW losses (2.997, 2.637, 2.301 at 1, 2, 4x) fall faster than any floor
        // allows; unconstrained, beta went negative (-2.38). Here it is held at 0 and flagged.
        double[] ratios = [1, 2, 4, 8];
        double[] losses = [2.997, 2.637, 2.301, 1.95];
        var fit = ConstrainedPowerLawFit.Fit(ratios, losses);
        Assert.True(fit.Fit.Beta >= 0);
        Assert.False(fit.Reliable);
        Assert.Contains(fit.Problems, p => p.Contains("beta") && p.Contains("lower bound"));
    }

    [Fact]
    public void Three_points_are_too_few_even_when_they_fit_exactly()
    {
        double[] ratios = [1, 2, 4];
        var fit = ConstrainedPowerLawFit.Fit(ratios, Law(0.8, 0.5, 2.0, ratios));
        Assert.False(fit.Reliable);
        Assert.Contains(fit.Problems, p => p.Contains("3 distinct ratios"));
    }

    [Fact]
    public void A_flat_or_rising_loss_is_flagged()
    {
        var flat = ConstrainedPowerLawFit.Fit(Ratios, [3.0, 3.0, 3.0, 3.0]);
        Assert.False(flat.Reliable);
        Assert.Contains(flat.Problems, p => p.Contains("does not change"));
        var rising = ConstrainedPowerLawFit.Fit(Ratios, [3.0, 3.1, 3.2, 3.3]);
        Assert.False(rising.Reliable);
        // The best law for a rising loss is a flat one: B and beta pinned to their bounds.
        Assert.Contains(rising.Problems, p => p.Contains("B = ") && p.Contains("lower bound"));
        Assert.Contains(rising.Problems, p => p.Contains("RMS residual"));
    }

    [Fact]
    public void Large_residuals_are_flagged()
    {
        // A zig-zag no power law follows.
        var fit = ConstrainedPowerLawFit.Fit([1, 2, 4, 8, 16], [3.0, 2.5, 2.9, 2.4, 2.8]);
        Assert.False(fit.Reliable);
        Assert.Contains(fit.Problems, p => p.Contains("RMS residual"));
    }

    [Fact]
    public void The_constrained_fit_is_a_minimum_over_the_feasible_set()
    {
        // Independent check: no feasible small move of any parameter lowers the residual.
        double[] losses = [2.997, 2.637, 2.301, 1.95];
        var fit = ConstrainedPowerLawFit.Fit(Ratios, losses).Fit;
        double Residual(double a, double b, double c) => Ratios.Select((k, i) => Math.Pow(a * Math.Pow(k, -b) + c - losses[i], 2)).Sum();
        var at = Residual(fit.Alpha, fit.Exponent, fit.Beta);
        Assert.Equal(fit.SumOfSquares, at, 1e-12);
        foreach (var h in new[] { 1e-4, -1e-4 })
        {
            Assert.True(Residual(fit.Alpha + h, fit.Exponent, fit.Beta) >= at - 1e-12);
            if (fit.Exponent + h > ConstrainedPowerLawFit.MinExponent)
                Assert.True(Residual(fit.Alpha, fit.Exponent + h, fit.Beta) >= at - 1e-12);
            if (fit.Beta + h >= 0 && fit.Beta + h < losses.Min())
                Assert.True(Residual(fit.Alpha, fit.Exponent, fit.Beta + h) >= at - 1e-12);
        }
    }
}
