using ModelDsl.Runtime.Optim;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using ModelDsl.Runtime.Parameters;

namespace ModelDsl.Runtime.Tests.Optim;

/// <summary>Float64 parameters with chosen gradients, and plain-array arithmetic for hand computations.</summary>
internal static class OptimTestSupport
{
    public static NamedParameter Parameter(string name, double[] values, long[] shape, ParameterRole role) =>
        new(name, new Parameter(tensor(values, ScalarType.Float64).reshape(shape)), role);

    public static double[] Values(Tensor t) => t.detach().to(ScalarType.Float64).cpu().contiguous().reshape(-1).data<double>().ToArray();

    /// <summary>Sets every parameter's gradient and takes one step.</summary>
    public static void StepWith(IOptimizer optimizer, IReadOnlyList<double[]> gradients, double multiplier = 1.0, StepContext? context = null)
    {
        for (var i = 0; i < optimizer.Slots.Count; i++)
        {
            var p = optimizer.Slots[i].Parameter;
            p.grad = tensor(gradients[i], ScalarType.Float64).reshape(p.shape);
        }
        optimizer.Step(multiplier, context ?? StepContext.None);
    }

    /// <summary>Deterministic pseudo-random values in [-1, 1).</summary>
    public static double[] Pseudo(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => random.NextDouble() * 2 - 1).ToArray();
    }

    public static void AssertClose(double[] expected, double[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * Math.Max(1, Math.Abs(expected[i])),
                $"element {i}: expected {expected[i]:R}, got {actual[i]:R}");
    }

    /// <summary>Row-major matrix product of [n, k] and [k, m].</summary>
    public static double[] MatMul(double[] a, double[] b, int n, int k, int m)
    {
        var c = new double[n * m];
        for (var i = 0; i < n; i++)
            for (var j = 0; j < m; j++)
            {
                var s = 0.0;
                for (var l = 0; l < k; l++) s += a[i * k + l] * b[l * m + j];
                c[i * m + j] = s;
            }
        return c;
    }

    public static double[] Transpose(double[] a, int n, int m)
    {
        var t = new double[n * m];
        for (var i = 0; i < n; i++)
            for (var j = 0; j < m; j++) t[j * n + i] = a[i * m + j];
        return t;
    }

    /// <summary>Muon's quintic Newton-Schulz on plain arrays (rows x cols), written from the formula.</summary>
    public static double[] NewtonSchulzByHand(double[] g, int rows, int cols, int steps)
    {
        var norm = Math.Sqrt(g.Sum(v => v * v)) + 1e-7;
        var x = g.Select(v => v / norm).ToArray();
        var transposed = rows > cols;
        var (n, m) = (rows, cols);
        if (transposed) { x = Transpose(x, rows, cols); (n, m) = (cols, rows); }
        for (var s = 0; s < steps; s++)
        {
            var a = MatMul(x, Transpose(x, n, m), n, m, n);
            var aa = MatMul(a, a, n, n, n);
            var poly = a.Select((v, i) => -4.7750 * v + 2.0315 * aa[i]).ToArray();
            var px = MatMul(poly, x, n, n, m);
            x = x.Select((v, i) => 3.4445 * v + px[i]).ToArray();
        }
        return transposed ? Transpose(x, n, m) : x;
    }
}
