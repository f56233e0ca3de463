using ModelDsl.Runtime.Layers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tests.Layers;

public sealed class HeldScalarsTests
{
    // Squared replaces square() on the hot paths; recorded losses rely on it being the same computation.
    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float64)]
    public void SquaredEqualsSquareBitForBitWithItsGradient(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(7);
        var x = randn([257, 33], dtype: dtype, generator: generator).requires_grad_();
        var reference = x.detach().clone().requires_grad_();
        var weight = randn([257, 33], dtype: dtype, generator: generator);
        var ours = x.Squared();
        var expected = reference.square();
        Assert.True(ours.eq(expected).all().item<bool>(), "forward");
        (ours * weight).sum().backward();
        (expected * weight).sum().backward();
        Assert.True(x.grad!.eq(reference.grad!).all().item<bool>(), "gradient");
    }
}
