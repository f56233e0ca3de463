using ModelDsl.Core.Generation;
using ModelDsl.Runtime.Generation;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tests.Generation;

public class TokenSamplerTests
{
    [Fact]
    public void ATinyNucleusKeepsOnlyTheArgmax()
    {
        using var scope = NewDisposeScope();
        var logits = torch.randn([200, 9], generator: new torch.Generator(1, torch.CPU)) * 0.5;   // nearly flat rows
        var sampled = TokenSampler.Sample(logits, new SamplingSpec { Temperature = 1, TopP = 1e-3 }, new torch.Generator(2, torch.CPU));
        var greedy = TokenSampler.Sample(logits, new SamplingSpec { Temperature = 0 });
        Assert.Equal(greedy.data<long>().ToArray(), sampled.data<long>().ToArray());
    }

    [Fact]
    public void NucleusIsTheSmallestTopSetReachingTopP()
    {
        using var scope = NewDisposeScope();
        var probabilities = torch.tensor(new[] { 0.05, 0.5, 0.15, 0.3 }).unsqueeze(0);
        Assert.Equal(new[] { 0, 0.5, 0, 0.3 }, TokenSampler.Nucleus(probabilities, 0.8).data<double>().ToArray());
        Assert.Equal(new[] { 0, 0.5, 0.15, 0.3 }, TokenSampler.Nucleus(probabilities, 0.81).data<double>().ToArray());
        Assert.Equal(new[] { 0, 0.5, 0, 0 }, TokenSampler.Nucleus(probabilities, 0.5).data<double>().ToArray());
    }

    /// <summary>Frequencies of 40,000 draws from a fixed logit vector. Each frequency has standard
    /// deviation at most sqrt(0.25 / 40000) = 0.0025; the tolerance 0.012 is about 5 of them.</summary>
    [Theory]
    [InlineData(1.0, 1.0)]
    [InlineData(0.5, 1.0)]
    [InlineData(2.0, 0.9)]
    public void SampledFrequenciesMatchTheTemperedTruncatedSoftmax(double temperature, double topP)
    {
        using var scope = NewDisposeScope();
        const int draws = 40_000;
        var logitValues = new[] { 1.0, -0.5, 2.0, 0.0, 0.7, -2.0 };
        var logits = torch.tensor(logitValues, dtype: ScalarType.Float32).unsqueeze(0).expand(draws, -1);
        var tokens = TokenSampler.Sample(logits, new SamplingSpec { Temperature = temperature, TopP = topP }, new torch.Generator(3, torch.CPU));
        var counts = torch.bincount(tokens, minlength: logitValues.Length).data<long>().ToArray();

        // Expected: softmax(logits / T), then drop the tokens ranked below the nucleus and renormalise.
        var weights = logitValues.Select(l => Math.Exp(l / temperature)).ToArray();
        var probabilities = weights.Select(w => w / weights.Sum()).ToArray();
        var massAbove = probabilities.Select(p => probabilities.Where(q => q > p).Sum()).ToArray();
        var kept = probabilities.Select((p, i) => massAbove[i] < topP ? p : 0).ToArray();
        var expected = kept.Select(p => p / kept.Sum()).ToArray();
        if (topP < 1) Assert.Contains(0.0, expected);   // the truncation case really truncates
        for (var i = 0; i < logitValues.Length; i++)
            Assert.True(Math.Abs(counts[i] / (double)draws - expected[i]) < 0.012,
                $"token {i}: frequency {counts[i] / (double)draws:F4}, expected {expected[i]:F4}");
    }
}
