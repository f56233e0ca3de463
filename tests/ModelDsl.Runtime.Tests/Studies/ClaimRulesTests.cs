using ModelDsl.Runtime.Studies;

namespace ModelDsl.Runtime.Tests.Studies;

/// <summary>The study scripts' verdict rules on synthetic per-seed results, each outcome decided by hand.</summary>
public sealed class ClaimRulesTests
{
    private static bool Lower(double a, double b) => a < b;

    [Fact]
    public void AClaimHoldingInEverySeedSomeSeedsOrNoneIsToldApart()
    {
        // Treatment losses against control losses, paired by seed.
        Assert.True(ClaimRules.InEverySeed([1.0, 2.0, 3.0], [1.5, 2.5, 3.5], Lower));
        Assert.False(ClaimRules.InEverySeed([1.0, 2.6, 3.0], [1.5, 2.5, 3.5], Lower)); // fails in seed 1 only
        Assert.False(ClaimRules.InEverySeed([2.0, 3.0], [1.5, 2.5], Lower));
        Assert.False(ClaimRules.InEverySeed([1.0, 2.5], [1.5, 2.5], Lower)); // a tie is not "lower"
        Assert.Equal(SeedAgreement.EverySeed, ClaimRules.Agreement([true, true, true]));
        Assert.Equal(SeedAgreement.SomeSeeds, ClaimRules.Agreement([true, false, true]));
        Assert.Equal(SeedAgreement.NoSeed, ClaimRules.Agreement([false, false]));
    }

    [Fact]
    public void NoSeedsOrAMissingResultNeverSupportAClaim()
    {
        Assert.False(ClaimRules.InEverySeed([], [], Lower));
        Assert.Throws<ArgumentException>(() => ClaimRules.Agreement([]));
        Assert.False(ClaimRules.InEverySeed([double.NaN, 1.0], [2.0, 2.0], Lower));
        var error = Assert.Throws<ArgumentException>(() => ClaimRules.InEverySeed([1.0, 2.0], [1.0], Lower));
        Assert.Contains("2 treatment and 1 control", error.Message);
        Assert.False(ClaimRules.AtEverySetting(Array.Empty<double>(), _ => true));
    }

    [Fact]
    public void TheMeanOverSeedsCanHoldWhereOneSeedDoesNot()
    {
        // Seeds: treatment 1.0, 3.0, 1.1 (mean 1.7) against control 2.0, 2.0, 2.0 (mean 2.0).
        double[] treatment = [1.0, 3.0, 1.1], control = [2.0, 2.0, 2.0];
        Assert.Equal(1.7, ClaimRules.MeanOverSeeds(treatment), 12);
        Assert.True(ClaimRules.LowerOnTheMean(treatment, control));
        Assert.False(ClaimRules.LowerOnTheMean(treatment, control, margin: 0.3 + 1e-9)); // 2.0 - 1.7 = 0.3 is not more than the margin
        Assert.False(ClaimRules.InEverySeed(treatment, control, Lower));
        Assert.Equal(SeedAgreement.SomeSeeds, ClaimRules.Agreement(treatment.Zip(control, Lower)));
        Assert.True(double.IsNaN(ClaimRules.MeanOverSeeds([])));
        Assert.False(ClaimRules.LowerOnTheMean([], control));
        Assert.False(ClaimRules.LowerOnTheMean([1.0, double.NaN], control));
    }

    [Fact]
    public void AClaimAtEveryLearningRateFailsAtTheOneWhereItDoesNotHold()
    {
        // Mean losses per LR: the treatment is lower at 1e-3 and 3e-3 but not at 1e-2.
        var treatment = new Dictionary<double, double[]> { [1e-3] = [2.0, 2.2], [3e-3] = [1.8, 1.9], [1e-2] = [2.5, 2.7] };
        var control = new Dictionary<double, double[]> { [1e-3] = [2.3, 2.3], [3e-3] = [2.0, 2.1], [1e-2] = [2.4, 2.6] };
        bool LowerAt(double lr) => ClaimRules.LowerOnTheMean(treatment[lr], control[lr]);
        Assert.False(ClaimRules.AtEverySetting([1e-3, 3e-3, 1e-2], LowerAt));
        Assert.True(ClaimRules.AtEverySetting([1e-3, 3e-3], LowerAt));
    }

    [Fact]
    public void APatienceStopNeedsNoImprovementOverTheLastEvaluations()
    {
        // Best before the last 2: 0.6; the last 2 reach 0.605 (within 0.01) -> stalled; 0.62 -> not.
        Assert.True(ClaimRules.Stalled([0.5, 0.6, 0.55, 0.605], 2, 0.01));
        Assert.False(ClaimRules.Stalled([0.5, 0.6, 0.55, 0.62], 2, 0.01));
        Assert.False(ClaimRules.Stalled([0.5, 0.5], 2, 0.01)); // too few evaluations to judge
        Assert.True(ClaimRules.Stalled([0.7, null, double.NaN], 2, 0.0)); // missing accuracies never improve
        Assert.Throws<ArgumentOutOfRangeException>(() => ClaimRules.Stalled([0.5], 0, 0.01));
    }

    [Fact]
    public void StopAtAccuracyNeedsAMeasuredAccuracyAtOrAboveTheTarget()
    {
        Assert.True(ClaimRules.ReachedTarget(0.95, 0.95));
        Assert.True(ClaimRules.ReachedTarget(1.0, 0.95));
        Assert.False(ClaimRules.ReachedTarget(0.9499, 0.95));
        Assert.False(ClaimRules.ReachedTarget(null, 0.95));
        Assert.False(ClaimRules.ReachedTarget(double.NaN, 0.0));
    }

    [Fact]
    public void TheSmallestSizeReachingTheTargetIsFoundWhateverTheOrderOfTheRuns()
    {
        // Sizes 2^6 .. 2^9 with best accuracies; 2^8 and 2^9 reach 0.95, 2^7 falls short by a hair.
        (int, double)[] runs = [(9, 0.99), (6, 0.5), (8, 0.95), (7, 0.9499)];
        Assert.Equal(8, ClaimRules.SmallestReaching(runs, 0.95));
        Assert.Null(ClaimRules.SmallestReaching(runs, 0.995));
        Assert.Null(ClaimRules.SmallestReaching([(6, double.NaN)], 0.0));
        Assert.Null(ClaimRules.SmallestReaching([], 0.5));
    }

    [Fact]
    public void TheSampleEfficiencyClaimsOfTheCotStudy()
    {
        // Claim 1: with CoT, N* flat in k within a factor 4 (log2 spread at most 2), every k reaching the target.
        Assert.True(ClaimRules.FlatAcross([6, 7, 8], 2));
        Assert.False(ClaimRules.FlatAcross([6, 7, 9], 2));
        Assert.False(ClaimRules.FlatAcross([6, null, 6], 2));
        Assert.False(ClaimRules.FlatAcross([], 2));
        // Claim 2: without CoT, N* is at least the CoT one at every k and grows from the first k to the last.
        Assert.True(ClaimRules.LargerAndGrowing([6, 6, 7], [7, 8, 10]));
        Assert.True(ClaimRules.LargerAndGrowing([6, 6, 7], [7, 9, null])); // never reached at the last k: larger and grown
        Assert.False(ClaimRules.LargerAndGrowing([6, 6, 7], [7, 5, 10]));  // smaller than with CoT at k = 2
        Assert.False(ClaimRules.LargerAndGrowing([6, 6, 7], [8, 8, 8]));   // larger, but flat
        Assert.False(ClaimRules.LargerAndGrowing([6, null, 7], [7, 9, 10])); // CoT failed at one k
        Assert.False(ClaimRules.LargerAndGrowing([], []));
    }

    [Fact]
    public void VerdictWording()
    {
        Assert.Equal("reproduced", ClaimRules.Verdict(true));
        Assert.Equal("not reproduced", ClaimRules.Verdict(false));
    }
}
