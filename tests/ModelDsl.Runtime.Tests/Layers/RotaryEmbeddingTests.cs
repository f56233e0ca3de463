using TorchSharp;
using static TorchSharp.torch;
using ModelDsl.Runtime.Attention;

namespace ModelDsl.Runtime.Tests.Layers;

public class RotaryEmbeddingTests
{
    private static Tensor At(RotaryEmbedding rope, Tensor vector, long position) =>
        rope.forward(vector.view(1, 1, 1, -1), position).view(-1);

    [Fact]
    public void DotProductDependsOnlyOnThePositionDifference()
    {
        using var scope = NewDisposeScope();
        using var rope = new RotaryEmbedding(headDim: 8, maxSequenceLength: 64, theta: 10000, ScalarType.Float64);
        var generator = new torch.Generator(5, torch.CPU);
        var q = torch.randn([8], dtype: ScalarType.Float64, generator: generator);
        var k = torch.randn([8], dtype: ScalarType.Float64, generator: generator);

        foreach (var (m, n) in new[] { (5L, 2L), (9L, 9L), (3L, 17L) })
        {
            var reference = At(rope, q, m).dot(At(rope, k, n)).item<double>();
            foreach (var shift in new long[] { 1, 7, 30 })
                Assert.Equal(reference, At(rope, q, m + shift).dot(At(rope, k, n + shift)).item<double>(), 10);
        }
        // ... and it does depend on the difference, so the check above is not vacuous.
        var near = At(rope, q, 5).dot(At(rope, k, 4)).item<double>();
        var far = At(rope, q, 5).dot(At(rope, k, 0)).item<double>();
        Assert.True(Math.Abs(near - far) > 1e-3);
    }

    [Fact]
    public void RotatesPairsHalfADimensionApartByPositionTimesFrequency()
    {
        using var scope = NewDisposeScope();
        const int dim = 6;
        const double theta = 100;
        using var rope = new RotaryEmbedding(dim, 16, theta, ScalarType.Float64);
        var x = torch.randn([dim], dtype: ScalarType.Float64, generator: new torch.Generator(6, torch.CPU));
        var xs = x.data<double>().ToArray();
        Assert.Equal(xs, At(rope, x, 0).data<double>().ToArray());     // position 0 is the identity
        var rotated = At(rope, x, 3).data<double>().ToArray();
        for (var i = 0; i < dim / 2; i++)
        {
            var angle = 3 * Math.Pow(theta, -2.0 * i / dim);
            Assert.Equal(xs[i] * Math.Cos(angle) - xs[i + dim / 2] * Math.Sin(angle), rotated[i], 12);
            Assert.Equal(xs[i + dim / 2] * Math.Cos(angle) + xs[i] * Math.Sin(angle), rotated[i + dim / 2], 12);
        }
    }

    [Fact]
    public void TablesAreNonPersistentBuffersNotParameters()
    {
        using var rope = new RotaryEmbedding(4, 8, 10000);
        Assert.Empty(rope.parameters());
        // Registered as buffers (they follow the module), but kept out of checkpoints.
        Assert.NotNull(rope.get_buffer("cos"));
        Assert.NotNull(rope.get_buffer("sin"));
        Assert.Empty(rope.state_dict());
    }

    [Fact]
    public void PositionsBeyondTheTableAreRejected()
    {
        using var scope = NewDisposeScope();
        using var rope = new RotaryEmbedding(4, 8, 10000);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => rope.forward(torch.zeros(1, 1, 3, 4), 6));
        Assert.Contains("maxSequenceLength 8", error.Message);
    }
}
