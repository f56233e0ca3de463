using ModelDsl.Core.Model;
using ModelDsl.Runtime.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tests.Layers;

public class FeedForwardTests
{
    private static Tensor Input(int seed) =>
        torch.randn([2, 3, 6], dtype: ScalarType.Float64, generator: new torch.Generator((ulong)seed, torch.CPU));

    [Fact]
    public void SwiGluEqualsDownOfSiluGateTimesUp()
    {
        using var scope = NewDisposeScope();
        using var ffn = new SwiGluFeedForward(width: 6, hidden: 10, bias: false, ScalarType.Float64);
        var p = ffn.named_parameters().ToDictionary(q => q.name, q => q.parameter);
        Assert.Equal([20L, 6], p["gateUp.weight"].shape);   // gate and up fused into one projection
        Assert.Equal([6L, 10], p["down.weight"].shape);

        var x = Input(1);
        var gate = x.matmul(p["gateUp.weight"][..10].t());
        var up = x.matmul(p["gateUp.weight"][10..].t());
        var expected = (gate * torch.sigmoid(gate) * up).matmul(p["down.weight"].t());
        Assert.True(GradientCheck.MaxAbsDifference(ffn.forward(x), expected) < 1e-12);
    }

    [Theory]
    [InlineData(Activation.Gelu)]
    [InlineData(Activation.Relu)]
    public void MlpEqualsDownOfActivationOfUp(Activation activation)
    {
        using var scope = NewDisposeScope();
        using var ffn = new MlpFeedForward(width: 6, hidden: 8, activation, bias: true, ScalarType.Float64);
        GradientCheck.Perturb(ffn);
        var p = ffn.named_parameters().ToDictionary(q => q.name, q => q.parameter);
        var x = Input(2);
        var h = x.matmul(p["up.weight"].t()) + p["up.bias"];
        // GELU(h) = h * Phi(h), with the normal CDF written through erf.
        var activated = activation == Activation.Gelu ? h * 0.5 * (1 + torch.erf(h / Math.Sqrt(2))) : h.clamp_min(0);
        var expected = activated.matmul(p["down.weight"].t()) + p["down.bias"];
        Assert.True(GradientCheck.MaxAbsDifference(ffn.forward(x), expected) < 1e-12);
    }

    [Fact]
    public void SwiGluGradientsMatchFiniteDifferences()
    {
        using var scope = NewDisposeScope();
        using var ffn = new SwiGluFeedForward(width: 6, hidden: 10, bias: true, ScalarType.Float64);
        GradientCheck.Perturb(ffn);
        var x = Input(3).requires_grad_();
        var loss = GradientCheck.WeightedSum(() => ffn.forward(x), [2, 3, 6]);
        GradientCheck.Check(loss, [("x", x), .. GradientCheck.Parameters(ffn)]);
    }

    [Fact]
    public void GeluMlpGradientsMatchFiniteDifferences()
    {
        using var scope = NewDisposeScope();
        using var ffn = new MlpFeedForward(width: 6, hidden: 8, Activation.Gelu, bias: true, ScalarType.Float64);
        GradientCheck.Perturb(ffn);
        var x = Input(4).requires_grad_();
        var loss = GradientCheck.WeightedSum(() => ffn.forward(x), [2, 3, 6]);
        GradientCheck.Check(loss, [("x", x), .. GradientCheck.Parameters(ffn)]);
    }
}
