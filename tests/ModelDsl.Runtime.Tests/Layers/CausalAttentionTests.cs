using TorchSharp;
using static TorchSharp.torch;
using ModelDsl.Runtime.Attention;

namespace ModelDsl.Runtime.Tests.Layers;

public class CausalAttentionTests
{
    private static (Tensor Q, Tensor K, Tensor V) Random(long queries, long keys, int seed)
    {
        var generator = new torch.Generator((ulong)seed, torch.CPU);
        return (torch.randn([2, 3, queries, 8], dtype: ScalarType.Float64, generator: generator),
            torch.randn([2, 3, keys, 8], dtype: ScalarType.Float64, generator: generator),
            torch.randn([2, 3, keys, 8], dtype: ScalarType.Float64, generator: generator));
    }

    [Theory]
    [InlineData(7, 0)]   // whole sequence: the is_causal path
    [InlineData(1, 6)]   // one decoded token: no mask
    [InlineData(3, 4)]   // a chunk after a cached prefix: explicit mask
    public void SdpaEqualsTheReferenceFormula(long queries, long queryStart)
    {
        using var scope = NewDisposeScope();
        var (q, k, v) = Random(queries, queryStart + queries, seed: (int)(queries * 10 + queryStart));
        var fast = CausalAttention.Sdpa(q, k, v, queryStart);
        var reference = CausalAttention.Reference(q, k, v, queryStart);
        Assert.Equal([2L, 3, queries, 8], fast.shape);
        Assert.True(GradientCheck.MaxAbsDifference(fast, reference) < 1e-10);
    }

    [Fact]
    public void ReferenceMatchesAHandWrittenLoop()
    {
        using var scope = NewDisposeScope();
        var (q, k, v) = Random(2, 5, seed: 9);
        const long start = 3;
        var output = CausalAttention.Reference(q, k, v, start);
        for (var b = 0; b < 2; b++)
            for (var h = 0; h < 3; h++)
                for (var i = 0; i < 2; i++)
                {
                    var visible = (int)start + i + 1;
                    var scores = Enumerable.Range(0, visible)
                        .Select(j => Enumerable.Range(0, 8).Sum(d => q[b, h, i, d].item<double>() * k[b, h, j, d].item<double>()) / Math.Sqrt(8))
                        .ToArray();
                    var max = scores.Max();
                    var weights = scores.Select(s => Math.Exp(s - max)).ToArray();
                    var total = weights.Sum();
                    for (var d = 0; d < 8; d++)
                    {
                        var expected = Enumerable.Range(0, visible).Sum(j => weights[j] / total * v[b, h, j, d].item<double>());
                        Assert.Equal(expected, output[b, h, i, d].item<double>(), 12);
                    }
                }
    }

    [Fact]
    public void LaterKeysDoNotChangeEarlierOutputs()
    {
        using var scope = NewDisposeScope();
        var (q, k, v) = Random(6, 6, seed: 12);
        var before = CausalAttention.Sdpa(q, k, v);
        k[.., .., 4..] = torch.randn([2, 3, 2, 8], dtype: ScalarType.Float64);
        v[.., .., 4..] = torch.randn([2, 3, 2, 8], dtype: ScalarType.Float64);
        var after = CausalAttention.Sdpa(q, k, v);
        Assert.True(GradientCheck.MaxAbsDifference(before[.., .., ..4], after[.., .., ..4]) < 1e-12);
        Assert.True(GradientCheck.MaxAbsDifference(before[.., .., 4..], after[.., .., 4..]) > 1e-3);
    }
}
