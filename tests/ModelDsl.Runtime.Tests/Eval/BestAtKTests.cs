using System.Numerics;
using ModelDsl.Runtime.Eval;

namespace ModelDsl.Runtime.Tests.Eval;

public sealed class BestAtKTests
{
    private static double BruteForce(double[] scores, bool[] correct, int k)
    {
        var n = scores.Length;
        long wins = 0, subsets = 0;
        for (var mask = 0; mask < 1 << n; mask++)
        {
            if (BitOperations.PopCount((uint)mask) != k) continue;
            var best = Enumerable.Range(0, n).Where(i => (mask >> i & 1) == 1).OrderByDescending(i => scores[i]).ThenBy(i => i).First();
            subsets++;
            if (correct[best]) wins++;
        }
        return (double)wins / subsets;
    }

    [Fact]
    public void MatchesTheMeanOverAllSubsetsIncludingTiedScores()
    {
        var random = new Random(5);
        for (var trial = 0; trial < 20; trial++)
        {
            var n = random.Next(1, 11);
            var scores = Enumerable.Range(0, n).Select(_ => (double)random.Next(4)).ToArray(); // many ties
            var correct = Enumerable.Range(0, n).Select(_ => random.Next(2) == 0).ToArray();
            for (var k = 1; k <= n; k++)
                Assert.Equal(BruteForce(scores, correct, k), BestAtK.ByScore(scores, correct, k), 12);
        }
    }

    [Fact]
    public void EndpointsAreTheFractionCorrectAndTheTopSample()
    {
        double[] scores = [-3, -1, -2, -1];
        bool[] correct = [true, false, true, true];
        Assert.Equal(0.75, BestAtK.ByScore(scores, correct, 1), 15);
        Assert.Equal(0.0, BestAtK.ByScore(scores, correct, 4)); // -1 ties; sample 1 comes first and is wrong
    }
}
