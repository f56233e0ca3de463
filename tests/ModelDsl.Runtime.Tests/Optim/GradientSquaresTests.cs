using ModelDsl.Runtime.Optim;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tests.Optim;

/// <summary>The chunked fp64 sum of squares against a plain fp64 loop over the same fp32 values.</summary>
public sealed class GradientSquaresTests
{
    [Theory]
    [InlineData(1000)]
    [InlineData(GradientSquares.Chunk)]
    [InlineData(2 * GradientSquares.Chunk + 12344)]
    public void SumOfSquaresOfAnFp32GradientMatchesAnFp64LoopAndLeavesItUnchanged(long count)
    {
        using var scope = NewDisposeScope();
        var random = new Random(7);
        var values = Enumerable.Range(0, (int)count).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var gradient = tensor(values).reshape(-1, 4);
        var expected = 0.0;
        foreach (var v in values) expected += (double)v * v;
        var actual = GradientSquares.Sum(gradient);
        Assert.Equal(ScalarType.Float64, actual.dtype);
        Assert.Equal(expected, actual.item<double>(), expected * 1e-12);
        Assert.Equal(values, gradient.reshape(-1).data<float>().ToArray());
    }
}
