using ModelDsl.Runtime.Studies;

namespace ModelDsl.Runtime.Tests.Studies;

public sealed class MarkovTextTests
{
    [Fact]
    public void EveryContextIsADistributionOverItsSuccessors()
    {
        var chain = new MarkovText(alphabet: 5, order: 2, successors: 3, seed: 11);
        Assert.Equal(25, chain.Contexts);
        for (var a = 0; a < 5; a++)
            for (var b = 0; b < 5; b++)
            {
                var row = Enumerable.Range(0, 5).Select(n => chain.Probability([a, b], n)).ToArray();
                Assert.Equal(1.0, row.Sum(), 12);
                Assert.Equal(3, row.Count(p => p > 0));
            }
    }

    [Fact]
    public void GenerationIsDeterministicAndStaysOnTheSupport()
    {
        var chain = new MarkovText(4, 1, 2, seed: 3);
        var text = chain.Generate(2000, seed: 5);
        Assert.Equal(text, chain.Generate(2000, seed: 5));
        Assert.NotEqual(text, chain.Generate(2000, seed: 6));
        Assert.All(text, c => Assert.InRange(c, 'a', 'd'));
        for (var i = 1; i < text.Length; i++) Assert.True(chain.Probability([text[i - 1] - 'a'], text[i] - 'a') > 0, $"transition at {i}");
    }

    [Fact]
    public void EmpiricalTransitionFrequenciesMatchTheChain()
    {
        var chain = new MarkovText(3, 1, 3, seed: 2);
        var text = chain.Generate(200_000, seed: 9);
        for (var from = 0; from < 3; from++)
        {
            var follows = Enumerable.Range(1, text.Length - 1).Where(i => text[i - 1] - 'a' == from).Select(i => text[i] - 'a').ToArray();
            for (var to = 0; to < 3; to++)
            {
                var p = chain.Probability([from], to);
                var frequency = follows.Count(l => l == to) / (double)follows.Length;
                // Five binomial standard errors.
                Assert.InRange(frequency, p - 5 * Math.Sqrt(p * (1 - p) / follows.Length), p + 5 * Math.Sqrt(p * (1 - p) / follows.Length));
            }
        }
    }

    [Fact]
    public void LossIsTheMeanNegativeLogProbabilityAfterTheFirstContext()
    {
        var chain = new MarkovText(3, 1, 2, seed: 4);
        var text = chain.Generate(6, seed: 1);
        var expected = 0.0;
        for (var i = 1; i < 6; i++) expected -= Math.Log(chain.Probability([text[i - 1] - 'a'], text[i] - 'a'));
        Assert.Equal(expected / 5, chain.Loss(text), 12);
        // A deterministic chain (one successor) has loss 0 on its own text.
        var deterministic = new MarkovText(6, 2, 1, seed: 8);
        Assert.Equal(0.0, deterministic.Loss(deterministic.Generate(500, seed: 2)), 12);
    }

    [Fact]
    public void LongSamplesApproachTheEntropyRate()
    {
        // Independent reference for order 1: the stationary distribution pi by power iteration, and the
        // entropy rate H = sum_i pi_i H(P(. | i)); the sample loss converges to it (ergodic theorem).
        var chain = new MarkovText(6, 1, 6, seed: 12);
        var pi = Enumerable.Repeat(1.0 / 6, 6).ToArray();
        for (var iteration = 0; iteration < 500; iteration++)
            pi = Enumerable.Range(0, 6).Select(j => Enumerable.Range(0, 6).Sum(i => pi[i] * chain.Probability([i], j))).ToArray();
        var rate = Enumerable.Range(0, 6).Sum(i => pi[i] * -Enumerable.Range(0, 6)
            .Select(j => chain.Probability([i], j)).Where(p => p > 0).Sum(p => p * Math.Log(p)));
        Assert.Equal(rate, chain.Loss(chain.Generate(200_000, seed: 3)), 2);
    }

    [Fact]
    public void BadArgumentsAreNamed()
    {
        Assert.Contains("alphabet", Assert.Throws<ArgumentOutOfRangeException>(() => new MarkovText(1, 1, 1, 0)).Message);
        Assert.Contains("order", Assert.Throws<ArgumentOutOfRangeException>(() => new MarkovText(4, 0, 1, 0)).Message);
        Assert.Contains("successors", Assert.Throws<ArgumentOutOfRangeException>(() => new MarkovText(4, 1, 5, 0)).Message);
        Assert.Contains("outside", Assert.Throws<ArgumentException>(() => new MarkovText(3, 1, 2, 0).Loss("abz")).Message);
    }

    [Fact]
    public void WriteCorpusWritesTheGeneratedText()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("markov-").FullName, "corpus.txt");
        try
        {
            var chain = new MarkovText(5, 2, 2, seed: 1);
            var text = chain.WriteCorpus(path, 300, seed: 4);
            Assert.Equal(text, File.ReadAllText(path));
            Assert.Equal(chain.Generate(300, 4), text);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }
}
