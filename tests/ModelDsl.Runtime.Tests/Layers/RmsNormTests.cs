using ModelDsl.Runtime.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tests.Layers;

public class RmsNormTests
{
    [Fact]
    public void MatchesTheFormulaComputedElementByElement()
    {
        using var scope = NewDisposeScope();
        using var norm = new RmsNorm(5, eps: 1e-5, ScalarType.Float64);
        GradientCheck.Perturb(norm);
        var x = torch.randn([2, 3, 5], dtype: ScalarType.Float64, generator: new torch.Generator(1, torch.CPU));
        var y = norm.forward(x);
        Assert.Equal(x.shape, y.shape);

        var xs = x.data<double>().ToArray();
        var g = norm.Weight.data<double>().ToArray();
        var ys = y.data<double>().ToArray();
        for (var row = 0; row < 6; row++)
        {
            var meanSquare = Enumerable.Range(0, 5).Average(i => xs[row * 5 + i] * xs[row * 5 + i]);
            for (var i = 0; i < 5; i++)
                Assert.Equal(xs[row * 5 + i] / Math.Sqrt(meanSquare + 1e-5) * g[i], ys[row * 5 + i], 12);
        }
    }

    [Fact]
    public void GradientsMatchFiniteDifferences()
    {
        using var scope = NewDisposeScope();
        using var norm = new RmsNorm(6, eps: 1e-6, ScalarType.Float64);
        GradientCheck.Perturb(norm);
        var x = torch.randn([2, 4, 6], dtype: ScalarType.Float64, generator: new torch.Generator(2, torch.CPU)).requires_grad_();
        var loss = GradientCheck.WeightedSum(() => norm.forward(x), [2, 4, 6]);
        GradientCheck.Check(loss, [("x", x), .. GradientCheck.Parameters(norm)], coordinates: 4);
    }

    [Fact]
    public void Bfloat16InputsAreNormalisedInFloat32()
    {
        using var scope = NewDisposeScope();
        using var norm = new RmsNorm(64, eps: 1e-6, ScalarType.BFloat16);
        var x = torch.randn([3, 64], generator: new torch.Generator(4, torch.CPU)) * 100;
        var y = norm.forward(x.to(ScalarType.BFloat16));
        Assert.Equal(ScalarType.BFloat16, y.dtype);
        // Every row has unit root-mean-square, up to bfloat16 rounding of the output.
        var rms = y.to(ScalarType.Float32).square().mean([-1L]).sqrt();
        Assert.True((rms - 1).abs().max().item<float>() < 1e-2);
    }
}
