using ModelDsl.Runtime.Optim;
using ModelDsl.Runtime.Parameters;
using static ModelDsl.Runtime.Tests.Optim.OptimTestSupport;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tests.Optim;

/// <summary>
/// AdamW's in-place update (decay first, lerp for m, folded bias corrections) against its naive twin:
/// the paper's formula on plain fp64 arrays, with global-norm clipping in front, over several steps.
/// </summary>
public sealed class AdamWInPlaceUpdateTests
{
    [Fact]
    public void EightClippedDecayedStepsMatchThePapersFormulaInFp64()
    {
        const double lr = 0.02, wd = 0.1, b1 = 0.9, b2 = 0.95, eps = 1e-8, maxNorm = 1.5;
        var spec = new Core.Training.AdamW { Lr = lr, WeightDecay = wd, Beta1 = b1, Beta2 = b2, Eps = eps };
        var (w0, h0, c0) = (Pseudo(12, 1), Pseudo(8, 2), Pseudo(4, 3));
        var matrix = Parameter("blocks.0.w", w0, [3, 4], ParameterRole.HiddenMatrix);
        var head = Parameter("head.weight", h0, [2, 4], ParameterRole.Head);
        var norm = Parameter("blocks.0.norm", c0, [4], ParameterRole.Norm);
        using var optimizer = OptimizerFactory.Create(spec, [matrix, head, norm], clipGradNorm: maxNorm);
        double[][] x = [(double[])w0.Clone(), (double[])h0.Clone(), (double[])c0.Clone()];
        double[][] m = [new double[12], new double[8], new double[4]];
        double[][] v = [new double[12], new double[8], new double[4]];
        double[] decay = [wd, wd, 0.0];
        var clippedSteps = 0;
        for (var t = 1; t <= 8; t++)
        {
            // Odd steps have large gradients (clipped), even steps small ones (not clipped).
            var scale = t % 2 == 1 ? 3.0 : 0.1;
            double[][] g = [Pseudo(12, 10 + t).Select(a => a * scale).ToArray(), Pseudo(8, 20 + t).Select(a => a * scale).ToArray(),
                Pseudo(4, 30 + t).Select(a => a * scale).ToArray()];
            var multiplier = 1.0 - 0.07 * t;
            StepWith(optimizer, g, multiplier);

            var total = Math.Sqrt(g.Sum(p => p.Sum(a => a * a)));
            var factor = total > maxNorm ? maxNorm / (total + 1e-6) : 1.0;
            if (factor < 1) clippedSteps++;
            for (var p = 0; p < x.Length; p++)
                for (var i = 0; i < x[p].Length; i++)
                {
                    var gi = g[p][i] * factor;
                    m[p][i] = b1 * m[p][i] + (1 - b1) * gi;
                    v[p][i] = b2 * v[p][i] + (1 - b2) * gi * gi;
                    var mHat = m[p][i] / (1 - Math.Pow(b1, t));
                    var vHat = v[p][i] / (1 - Math.Pow(b2, t));
                    x[p][i] -= lr * multiplier * (mHat / (Math.Sqrt(vHat) + eps) + decay[p] * x[p][i]);
                }
            AssertClose(x[0], Values(matrix.Parameter), 1e-12);
            AssertClose(x[1], Values(head.Parameter), 1e-12);
            AssertClose(x[2], Values(norm.Parameter), 1e-12);
            AssertClose(m[0], Values(optimizer.Slots[0].State["m"]), 1e-12);
            AssertClose(v[1], Values(optimizer.Slots[1].State["v"]), 1e-12);
        }
        Assert.Equal(4, clippedSteps);
    }

    [Fact]
    public void AStepWithTheGradientsMeasuredBeforehandEqualsAPlainStepBitForBit()
    {
        var spec = new Core.Training.AdamW { Lr = 0.05, WeightDecay = 0.2 };
        OptimizerBase Make() => (OptimizerBase)OptimizerFactory.Create(spec,
            [Parameter("w", Pseudo(6, 1), [2, 3], ParameterRole.HiddenMatrix), Parameter("b", Pseudo(3, 2), [3], ParameterRole.Bias)], clipGradNorm: 0.5);
        using var plain = Make();
        using var measured = Make();
        for (var step = 0; step < 3; step++)
        {
            double[][] g = [Pseudo(6, 10 + step), Pseudo(3, 20 + step)];
            StepWith(plain, g);
            for (var i = 0; i < 2; i++) measured.Slots[i].Parameter.grad = tensor(g[i], ScalarType.Float64).reshape(measured.Slots[i].Parameter.shape);
            var measure = measured.MeasureGradients();
            var expected = Math.Sqrt(g.Sum(p => p.Sum(a => a * a)));
            Assert.Equal(expected, measure.Total, 12);
            Assert.Equal(measure.Total, measure.ClipScope);
            var marks = 0;
            Assert.Equal(measure.Total, measured.Step(1.0, StepContext.None, measure, () => marks++));
            Assert.Equal(1, marks);
            for (var i = 0; i < 2; i++)
                Assert.Equal(Values(plain.Slots[i].Parameter), Values(measured.Slots[i].Parameter));
        }
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float64)]
    public void MeasuringLeavesTheGradientsUnchanged(ScalarType dtype)
    {
        var spec = new Core.Training.AdamW();
        var w = new NamedParameter("w", new TorchSharp.Modules.Parameter(tensor(Pseudo(6, 1), ScalarType.Float64).reshape(2, 3).to(dtype)),
            ParameterRole.HiddenMatrix);
        using var optimizer = (OptimizerBase)OptimizerFactory.Create(spec, [w], clipGradNorm: 1.0);
        var gradient = tensor(Pseudo(6, 5), ScalarType.Float64).reshape(2, 3).to(dtype);
        w.Parameter.grad = gradient.clone();
        var measure = optimizer.MeasureGradients();
        Assert.Equal(Values(gradient), Values(w.Parameter.grad!));
        Assert.Equal(Math.Sqrt(Values(gradient).Sum(a => a * a)), measure.Total, 12); // the fp32 values, squared and summed in fp64
    }
}
