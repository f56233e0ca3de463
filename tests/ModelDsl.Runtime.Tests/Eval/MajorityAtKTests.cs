using System.Numerics;
using ModelDsl.Runtime.Eval;

namespace ModelDsl.Runtime.Tests.Eval;

public sealed class MajorityAtKTests
{
    [Fact]
    public void TiesGoToTheAnswerWhoseEarliestSampleComesFirst()
    {
        // Two votes each: "3" is sampled first, so it wins.
        Assert.Equal(0.0, MajorityAtK.Estimate(["3", "5", "5", "3"], [false, true, true, false], 4));
        Assert.Equal(1.0, MajorityAtK.Estimate(["5", "3", "3", "5"], [true, false, false, true], 4));
        // Within a subset, the earliest of that subset decides: samples 1 and 2 tie, sample 1 first.
        Assert.True(MajorityAtK.MajorityCorrect(["3", "5", "3"], [false, true, false], [2, 1]));
        Assert.False(MajorityAtK.MajorityCorrect(["3", "5", "3"], [false, true, false], [0, 1]));
        // Three candidates, one vote each: the first sample wins.
        Assert.True(MajorityAtK.MajorityCorrect(["7", "8", "9"], [true, false, false], [0, 1, 2]));
    }

    [Fact]
    public void AtKEqualsNItIsThePlainMajorityAndAtOneTheFractionCorrect()
    {
        string[] answers = ["1", "2", "2", "4", "2", "1"];
        bool[] correct = [true, false, false, false, false, true];
        Assert.Equal(0.0, MajorityAtK.Estimate(answers, correct, 6));
        Assert.Equal(2.0 / 6, MajorityAtK.Estimate(answers, correct, 1), 15);
    }

    /// <summary>The mean over every k-subset (bit masks) of the majority verdict, as the reference.</summary>
    private static double BruteForce(string[] answers, bool[] correct, int k)
    {
        var n = answers.Length;
        long wins = 0, subsets = 0;
        for (var mask = 0; mask < 1 << n; mask++)
        {
            if (BitOperations.PopCount((uint)mask) != k) continue;
            var subset = Enumerable.Range(0, n).Where(i => (mask >> i & 1) == 1).ToArray();
            var votes = subset.GroupBy(i => answers[i]).Select(g => (Count: g.Count(), First: g.Min())).ToList();
            var top = votes.Max(v => v.Count);
            var winner = votes.Where(v => v.Count == top).Min(v => v.First);
            subsets++;
            if (correct[winner]) wins++;
        }
        return (double)wins / subsets;
    }

    private static (string[] Answers, bool[] Correct) Random(int n, int seed)
    {
        var random = new Random(seed);
        var answers = Enumerable.Range(0, n).Select(_ => random.Next(4).ToString()).ToArray();
        return (answers, answers.Select(a => a == "2").ToArray());
    }

    [Fact]
    public void ExactEnumerationMatchesABruteForceReference()
    {
        for (var seed = 0; seed < 5; seed++)
        {
            var (answers, correct) = Random(9, seed);
            for (var k = 1; k <= 9; k++)
                Assert.Equal(BruteForce(answers, correct, k), MajorityAtK.Estimate(answers, correct, k), 12);
        }
    }

    [Fact]
    public void SampledSubsetsAreCloseToTheExactValueWhenThereAreTooManyToEnumerate()
    {
        var (answers, correct) = Random(20, 3);
        var exact = BruteForce(answers, correct, 10); // C(20, 10) = 184756 > ExactSubsetLimit
        var estimate = MajorityAtK.Estimate(answers, correct, 10, seed: 1);
        Assert.True(Math.Abs(estimate - exact) < 0.04, $"{estimate} vs {exact}");
        Assert.Equal(estimate, MajorityAtK.Estimate(answers, correct, 10, seed: 1));
    }
}
