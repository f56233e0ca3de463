using ModelDsl.Runtime.Optim;
using static ModelDsl.Runtime.Tests.Optim.OptimTestSupport;
using ModelDsl.Runtime.Parameters;

namespace ModelDsl.Runtime.Tests.Optim;

/// <summary>Two steps of each element-wise optimizer on a decayed 2x3 matrix against the formulas written out on plain arrays.</summary>
public sealed class ElementwiseOptimizerTests
{
    private const double Lr = 0.01, Wd = 0.2;

    /// <summary>Runs two steps of the optimizer and of <paramref name="byHand"/> (which maps weights, gradient, t and a state bag to new weights).</summary>
    private static void Check(Core.Training.OptimizerSpec spec, Func<double[], double[], int, Dictionary<string, double[]>, double[]> byHand, double multiplier = 0.7)
    {
        var w0 = Pseudo(6, 1);
        var p = Parameter("blocks.0.w", w0, [2, 3], ParameterRole.HiddenMatrix);
        var optimizer = OptimizerFactory.Create(spec, [p], clipGradNorm: null);
        var w = (double[])w0.Clone();
        var state = new Dictionary<string, double[]>();
        for (var t = 1; t <= 2; t++)
        {
            var g = Pseudo(6, 10 + t);
            StepWith(optimizer, [g], multiplier);
            var u = byHand(w, g, t, state);
            w = w.Select((x, i) => x - Lr * multiplier * (u[i] + Wd * x)).ToArray();
            AssertClose(w, Values(p.Parameter), 1e-11);
        }
    }

    private static double[] Zeros(Dictionary<string, double[]> s, string key) => s.TryGetValue(key, out var v) ? v : s[key] = new double[6];

    [Fact]
    public void NAdamW()
    {
        var (b1, b2, eps) = (0.8, 0.9, 1e-8);
        Check(new Core.Training.NAdamW { Lr = Lr, WeightDecay = Wd, Beta1 = b1, Beta2 = b2, Eps = eps }, (w, g, t, s) =>
        {
            var (m, v) = (Zeros(s, "m"), Zeros(s, "v"));
            return g.Select((gi, i) =>
            {
                m[i] = b1 * m[i] + (1 - b1) * gi;
                v[i] = b2 * v[i] + (1 - b2) * gi * gi;
                var mHat = b1 * m[i] / (1 - Math.Pow(b1, t + 1)) + (1 - b1) * gi / (1 - Math.Pow(b1, t));
                return mHat / (Math.Sqrt(v[i] / (1 - Math.Pow(b2, t))) + eps);
            }).ToArray();
        });
    }

    [Fact]
    public void Lion()
    {
        var (b1, b2) = (0.8, 0.9);
        Check(new Core.Training.Lion { Lr = Lr, WeightDecay = Wd, Beta1 = b1, Beta2 = b2 }, (w, g, t, s) =>
        {
            var m = Zeros(s, "m");
            return g.Select((gi, i) =>
            {
                var u = Math.Sign(b1 * m[i] + (1 - b1) * gi);
                m[i] = b2 * m[i] + (1 - b2) * gi;
                return (double)u;
            }).ToArray();
        });
    }

    [Fact]
    public void CautiousKeepsOnlyAgreeingSignsAndRescalesByTheMaskMean()
    {
        var (b1, b2, eps) = (0.8, 0.9, 1e-8);
        Check(new Core.Training.Cautious { Lr = Lr, WeightDecay = Wd, Beta1 = b1, Beta2 = b2, Eps = eps }, (w, g, t, s) =>
        {
            var (m, v) = (Zeros(s, "m"), Zeros(s, "v"));
            var u = g.Select((gi, i) =>
            {
                m[i] = b1 * m[i] + (1 - b1) * gi;
                v[i] = b2 * v[i] + (1 - b2) * gi * gi;
                return m[i] / (1 - Math.Pow(b1, t)) / (Math.Sqrt(v[i] / (1 - Math.Pow(b2, t))) + eps);
            }).ToArray();
            var mask = u.Select((ui, i) => ui * g[i] > 0 ? 1.0 : 0.0).ToArray();
            var mean = Math.Max(mask.Average(), 1e-3);
            if (t == 2) Assert.Contains(0.0, mask); // the second gradient disagrees with the momentum somewhere
            return u.Select((ui, i) => ui * mask[i] / mean).ToArray();
        });
    }

    [Fact]
    public void MarsCorrectsWithThePreviousGradientAndCapsTheNorm()
    {
        var (b1, b2, gamma, eps) = (0.8, 0.9, 0.5, 1e-8);
        Check(new Core.Training.Mars { Lr = Lr, WeightDecay = Wd, Beta1 = b1, Beta2 = b2, Gamma = gamma, Eps = eps }, (w, g, t, s) =>
        {
            var (m, v) = (Zeros(s, "m"), Zeros(s, "v"));
            var previous = s.TryGetValue("previous", out var p) ? p : g;
            var c = g.Select((gi, i) => gi + gamma * b1 / (1 - b1) * (gi - previous[i])).ToArray();
            var norm = Math.Sqrt(c.Sum(x => x * x));
            Assert.True(norm > 1); // the cap is exercised
            c = c.Select(x => x / Math.Max(norm, 1)).ToArray();
            s["previous"] = g;
            return c.Select((ci, i) =>
            {
                m[i] = b1 * m[i] + (1 - b1) * ci;
                v[i] = b2 * v[i] + (1 - b2) * ci * ci;
                return m[i] / (1 - Math.Pow(b1, t)) / (Math.Sqrt(v[i] / (1 - Math.Pow(b2, t))) + eps);
            }).ToArray();
        });
    }

    [Fact]
    public void AdamMiniSharesTheSecondMomentPerRow()
    {
        var (b1, b2, eps) = (0.8, 0.9, 1e-8);
        Check(new Core.Training.AdamMini { Lr = Lr, WeightDecay = Wd, Beta1 = b1, Beta2 = b2, Eps = eps }, (w, g, t, s) =>
        {
            var m = Zeros(s, "m");
            var v = s.TryGetValue("v", out var vv) ? vv : s["v"] = new double[2];
            for (var r = 0; r < 2; r++) v[r] = b2 * v[r] + (1 - b2) * (g[3 * r] * g[3 * r] + g[3 * r + 1] * g[3 * r + 1] + g[3 * r + 2] * g[3 * r + 2]) / 3;
            return g.Select((gi, i) =>
            {
                m[i] = b1 * m[i] + (1 - b1) * gi;
                return m[i] / (1 - Math.Pow(b1, t)) / (Math.Sqrt(v[i / 3] / (1 - Math.Pow(b2, t))) + eps);
            }).ToArray();
        });
    }

    [Fact]
    public void AdamMiniAveragesQueryAndKeyRowsPerHead()
    {
        // A fused projection of 6 rows x 2 columns: 2 query/key heads of 2 rows, then 2 value rows.
        var spec = new Core.Training.AdamMini { Lr = Lr, WeightDecay = 0, Beta1 = 0.0, Beta2 = 0.0, Eps = 0 };
        var p = Parameter("blocks.0.attention.qkv.weight", new double[12], [6, 2], ParameterRole.HiddenMatrix) with { HeadBlocks = new QueryKeyHeads(2, 2) };
        var optimizer = OptimizerFactory.Create(spec, [p], null);
        var g = Enumerable.Range(1, 12).Select(i => (double)i).ToArray();
        StepWith(optimizer, [g]);
        // With b1 = b2 = 0: u = g / sqrt(block mean of g^2).
        double Rms(params int[] idx) => Math.Sqrt(idx.Average(i => g[i] * g[i]));
        var blocks = new[] { Rms(0, 1, 2, 3), Rms(0, 1, 2, 3), Rms(4, 5, 6, 7), Rms(4, 5, 6, 7), Rms(8, 9), Rms(10, 11) };
        var expected = g.Select((gi, i) => -Lr * gi / blocks[i / 2]).ToArray();
        AssertClose(expected, Values(p.Parameter), 1e-12);
    }
}
