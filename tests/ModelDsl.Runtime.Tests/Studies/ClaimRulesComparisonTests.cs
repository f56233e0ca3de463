using ModelDsl.Runtime.Studies;

namespace ModelDsl.Runtime.Tests.Studies;

public sealed class ClaimRulesComparisonTests
{
    [Theory]
    [InlineData(new[] { 1.4, 1.3, 1.1 }, 0.02, true)]
    [InlineData(new[] { 1.4, 1.41, 1.1 }, 0.02, true)]    // a rise within the tolerance
    [InlineData(new[] { 1.4, 1.5, 1.1 }, 0.02, false)]    // a rise beyond it
    [InlineData(new[] { 1.4, 1.39 }, 0.02, false)]        // a fall within the tolerance is no fall
    [InlineData(new[] { 1.4 }, 0.02, false)]
    [InlineData(new[] { 1.4, double.NaN, 1.1 }, 0.02, false)]
    [InlineData(new[] { double.PositiveInfinity, 1.1 }, 0.02, false)]
    public void Shrinks_needs_a_fall_beyond_the_tolerance_and_no_rise_beyond_it(double[] values, double tolerance, bool expected) =>
        Assert.Equal(expected, ClaimRules.Shrinks(values, tolerance));

    [Fact]
    public void Beats_uses_the_margin_and_never_counts_NaN()
    {
        Assert.True(ClaimRules.Beats(2.990, 3.0, 3e-3));
        Assert.False(ClaimRules.Beats(2.998, 3.0, 3e-3));
        Assert.False(ClaimRules.Beats(double.NaN, 3.0, 3e-3));
        Assert.False(ClaimRules.Beats(2.0, double.NaN, 3e-3));
    }

    [Fact]
    public void An_untestable_claim_is_not_tested()
    {
        Assert.Equal("not tested", ClaimRules.VerdictOrUntested(null));
        Assert.Equal("reproduced", ClaimRules.VerdictOrUntested(true));
        Assert.Equal("not reproduced", ClaimRules.VerdictOrUntested(false));
    }
}
