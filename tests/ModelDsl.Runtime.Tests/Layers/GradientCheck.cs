using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tests.Layers;

/// <summary>
/// Compares autograd gradients with central finite differences (f(x+h) - f(x-h)) / 2h in float64
/// at a few random coordinates of each tensor. The error of the central difference is O(h^2), so
/// with h = 1e-6 agreement to ~1e-7 relative is expected; a wrong backward is off by O(1).
/// </summary>
internal static class GradientCheck
{
    public static void Check(Func<Tensor> loss, IReadOnlyList<(string Name, Tensor Tensor)> tensors,
        int coordinates = 3, double step = 1e-6, double tolerance = 1e-6, int seed = 7)
    {
        foreach (var (name, tensor) in tensors)
        {
            Assert.True(tensor.dtype == ScalarType.Float64, $"{name}: gradient checks run in float64");
            Assert.True(tensor.requires_grad, $"{name}: does not require grad");
            tensor.grad?.zero_();
        }
        using (var value = loss()) value.backward();

        var random = new Random(seed);
        foreach (var (name, tensor) in tensors)
        {
            var analytic = tensor.grad ?? throw new Xunit.Sdk.XunitException($"{name}: no gradient reached this tensor");
            Assert.True(analytic.abs().max().item<double>() > 0, $"{name}: gradient is identically zero, the check would be vacuous");
            var flatGradient = analytic.reshape(-1);
            var flat = tensor.detach().view(-1);
            for (var c = 0; c < coordinates; c++)
            {
                var index = random.NextInt64(flat.numel());
                var original = flat[index].item<double>();
                double Evaluate(double at)
                {
                    using var noGrad = torch.no_grad();
                    flat.narrow(0, index, 1).fill_(at);
                    using var value = loss();
                    return value.item<double>();
                }
                var numeric = (Evaluate(original + step) - Evaluate(original - step)) / (2 * step);
                using (torch.no_grad()) flat.narrow(0, index, 1).fill_(original);
                var expected = flatGradient[index].item<double>();
                Assert.True(Math.Abs(numeric - expected) <= tolerance * (1 + Math.Abs(numeric)),
                    $"{name}[{index}]: autograd {expected:G10}, finite difference {numeric:G10}");
            }
        }
    }

    /// <summary>A scalar that depends on every output element with a different weight, so that
    /// no gradient error can cancel out: sum(output * weights).</summary>
    public static Func<Tensor> WeightedSum(Func<Tensor> output, long[] shape, int seed = 11)
    {
        using var generator = new torch.Generator((ulong)seed, torch.CPU);
        var weights = torch.randn(shape, dtype: ScalarType.Float64, generator: generator);
        return () =>
        {
            using var scope = NewDisposeScope();
            return (output() * weights).sum().MoveToOuterDisposeScope();
        };
    }

    public static double MaxAbsDifference(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        Assert.Equal(a.shape, b.shape);
        return (a.to(ScalarType.Float64) - b.to(ScalarType.Float64)).abs().max().item<double>();
    }

    public static (string, Tensor)[] Parameters(nn.Module module) =>
        module.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).ToArray();

    /// <summary>Moves every parameter away from its initial value (norm gains of 1, zero biases)
    /// so that checks do not pass by symmetry.</summary>
    public static void Perturb(nn.Module module, int seed = 3)
    {
        using var generator = new torch.Generator((ulong)seed, torch.CPU);
        using var noGrad = torch.no_grad();
        foreach (var p in module.parameters())
            p.add_(torch.randn(p.shape, dtype: p.dtype, generator: generator) * 0.3);
    }
}
