using ModelDsl.Runtime.Optim;
using static ModelDsl.Runtime.Tests.Optim.OptimTestSupport;
using static TorchSharp.torch;
using ModelDsl.Runtime.Parameters;

namespace ModelDsl.Runtime.Tests.Optim;

public sealed class MatrixOptimizerTests
{
    [Fact]
    public void ScionOrthogonalisesMatricesAndTakesSignumStepsElsewhere()
    {
        var spec = new Core.Training.Scion { Lr = 0.05, WeightDecay = 0.1, Momentum = 0.8, SignumLrRatio = 0.2 };
        var (w0, e0) = (Pseudo(6, 1), Pseudo(4, 2));
        var matrix = Parameter("blocks.0.w", w0, [2, 3], ParameterRole.HiddenMatrix);
        var embedding = Parameter("embedding.weight", e0, [2, 2], ParameterRole.Embedding);
        var optimizer = OptimizerFactory.Create(spec, [matrix, embedding], null);
        var (w, e) = ((double[])w0.Clone(), (double[])e0.Clone());
        var (bw, be) = (new double[6], new double[4]);
        for (var t = 1; t <= 2; t++)
        {
            var (gw, ge) = (Pseudo(6, 10 + t), Pseudo(4, 20 + t));
            StepWith(optimizer, [gw, ge]);
            for (var i = 0; i < 6; i++) bw[i] = 0.8 * bw[i] + 0.2 * gw[i];
            for (var i = 0; i < 4; i++) be[i] = 0.8 * be[i] + 0.2 * ge[i];
            var o = NewtonSchulzByHand(bw, 2, 3, 5); // 2 x 3: out < in, so no aspect scaling
            w = w.Select((x, i) => x - 0.05 * (o[i] + 0.1 * x)).ToArray();
            e = e.Select((x, i) => x - 0.05 * 0.2 * Math.Sign(be[i])).ToArray();
            AssertClose(w, Values(matrix.Parameter), 1e-10);
            AssertClose(e, Values(embedding.Parameter), 1e-12);
        }
    }

    [Fact]
    public void SoapOnAVectorIsAdamDelayedByTheInitialisingStep()
    {
        var spec = new Core.Training.Soap { Lr = 0.01, WeightDecay = 0.3, Beta1 = 0.8, Beta2 = 0.9, Eps = 1e-8 };
        var w0 = Pseudo(4, 1);
        var p = Parameter("norm.weight", w0, [4], ParameterRole.Norm);
        var optimizer = OptimizerFactory.Create(spec, [p], null);
        StepWith(optimizer, [Pseudo(4, 11)]);
        AssertClose(w0, Values(p.Parameter), 0); // step 1 only initialises
        var g = Pseudo(4, 12);
        StepWith(optimizer, [g]);
        // Norm gains are not decayed; the reference's step size lr sqrt(1 - b2) / (1 - b1) with eps outside the correction.
        var expected = w0.Select((x, i) => x - 0.01 * (0.2 * g[i]) / (Math.Sqrt(0.1 * g[i] * g[i]) + 1e-8) * Math.Sqrt(0.1) / 0.2).ToArray();
        AssertClose(expected, Values(p.Parameter), 1e-12);
    }

    [Fact]
    public void SoapOnDiagonalGradientsIsElementwiseAdamBecauseTheEigenbasisIsASignedPermutation()
    {
        var spec = new Core.Training.Soap { Lr = 0.01, WeightDecay = 0, Beta1 = 0.8, Beta2 = 0.9, Eps = 1e-8, PreconditionFrequency = 1 };
        var p = Parameter("blocks.0.w", new double[9], [3, 3], ParameterRole.HiddenMatrix);
        var optimizer = OptimizerFactory.Create(spec, [p], null);
        double[] Diagonal(double a, double b, double c) => [a, 0, 0, 0, b, 0, 0, 0, c];
        var gradients = new[] { Diagonal(3, 1, 2), Diagonal(-2, 0.5, 1), Diagonal(1, -1, 0.25), Diagonal(0.5, 2, -3) };
        var (m, v, w) = (new double[9], new double[9], new double[9]);
        for (var step = 0; step < gradients.Length; step++)
        {
            var g = gradients[step];
            StepWith(optimizer, [g]);
            if (step == 0) continue;
            var t = step;
            for (var i = 0; i < 9; i++)
            {
                m[i] = 0.8 * m[i] + 0.2 * g[i];
                v[i] = 0.9 * v[i] + 0.1 * g[i] * g[i];
                w[i] -= 0.01 * m[i] / (Math.Sqrt(v[i]) + 1e-8) * Math.Sqrt(1 - Math.Pow(0.9, t)) / (1 - Math.Pow(0.8, t));
            }
            AssertClose(w, Values(p.Parameter), 1e-9);
        }
    }

    [Fact]
    public void SoapReprojectsTheFirstMomentWhenTheBasisChanges()
    {
        // After every refresh, the first moment mapped back to the parameter space must still be the
        // EMA of the raw gradients (rotating m into the new basis is exact; leaving it would not be).
        var spec = new Core.Training.Soap { Lr = 0.01, Beta1 = 0.8, PreconditionFrequency = 1 };
        var p = Parameter("blocks.0.w", Pseudo(6, 1), [3, 2], ParameterRole.HiddenMatrix);
        var optimizer = OptimizerFactory.Create(spec, [p], null);
        var ema = new double[6];
        for (var step = 0; step < 5; step++)
        {
            var g = Pseudo(6, 30 + step);
            StepWith(optimizer, [g]);
            if (step == 0) continue;
            for (var i = 0; i < 6; i++) ema[i] = 0.8 * ema[i] + 0.2 * g[i];
            var state = optimizer.Slots[0].State;
            var back = state["Q0"].matmul(state["m"]).matmul(state["Q1"].t());
            AssertClose(ema, Values(back), 1e-10);
        }
    }

    [Fact]
    public void SophiaHUsesHutchinsonsEstimateEveryIntervalAndClipsTheRatio()
    {
        var spec = new Core.Training.SophiaH { Lr = 0.01, WeightDecay = 0.1, Beta1 = 0.8, Beta2 = 0.9, Gamma = 0.5, Eps = 1e-12, HessianInterval = 2 };
        var w0 = Pseudo(6, 1);
        var curvature = new[] { 0.5, 1, 2, 4, 8, 16 };
        var p = Parameter("blocks.0.w", w0, [2, 3], ParameterRole.HiddenMatrix);
        var optimizer = OptimizerFactory.Create(spec, [p], null);
        var probes = new List<double[]>();
        var context = new StepContext(vectors =>
        {
            var z = Values(vectors[0]);
            probes.Add(z);
            return [tensor(z.Select((x, i) => curvature[i] * x).ToArray(), ScalarType.Float64).reshape(2, 3)];
        });
        var (w, m, h) = ((double[])w0.Clone(), new double[6], new double[6]);
        for (var t = 1; t <= 3; t++)
        {
            Assert.Equal(t % 2 == 1, optimizer.NeedsHessianVectorProduct);
            var g = Pseudo(6, 10 + t).Select(x => x * 0.1).ToArray();
            StepWith(optimizer, [g], context: context);
            Assert.Equal((t + 1) / 2, probes.Count);
            if (t % 2 == 1)
                for (var i = 0; i < 6; i++) h[i] = 0.9 * h[i] + 0.1 * probes[^1][i] * curvature[i] * probes[^1][i];
            for (var i = 0; i < 6; i++)
            {
                m[i] = 0.8 * m[i] + 0.2 * g[i];
                var ratio = m[i] / (1 - Math.Pow(0.8, t)) / Math.Max(0.5 * h[i], 1e-12);
                w[i] -= 0.01 * (Math.Clamp(ratio, -1, 1) + 0.1 * w[i]);
            }
            AssertClose(w, Values(p.Parameter), 1e-12);
        }
        Assert.NotEqual(probes[0], probes[1]); // fresh probes per estimate
        var needing = OptimizerFactory.Create(spec, [Parameter("x", [1.0], [1], ParameterRole.Bias)], null);
        var error = Assert.Throws<InvalidOperationException>(() => StepWith(needing, [[1.0]]));
        Assert.Contains("Hessian-vector product", error.Message);
    }

    [Fact]
    public void KronWithAFrozenPreconditionerStepsAlongTheRmsClippedMomentum()
    {
        // With a negligible preconditioner LR, Q stays the identity, so u = mhat scaled to RMS at most 1.1.
        var spec = new Core.Training.Kron { Lr = 0.01, WeightDecay = 0.1, Beta1 = 0.5, PreconditionerLr = 1e-14 };
        var w0 = Pseudo(6, 1);
        var p = Parameter("blocks.0.w", w0, [2, 3], ParameterRole.HiddenMatrix);
        var optimizer = OptimizerFactory.Create(spec, [p], null);
        var (w, m) = ((double[])w0.Clone(), new double[6]);
        for (var t = 1; t <= 2; t++)
        {
            var g = Pseudo(6, 10 + t).Select(x => x * 5).ToArray();
            StepWith(optimizer, [g]);
            for (var i = 0; i < 6; i++) m[i] = 0.5 * m[i] + 0.5 * g[i];
            var mHat = m.Select(x => x / (1 - Math.Pow(0.5, t))).ToArray();
            var rms = Math.Sqrt(mHat.Average(x => x * x));
            Assert.True(rms > 1.1); // the clip is exercised
            w = w.Select((x, i) => x - 0.01 * (mHat[i] * Math.Min(1, 1.1 / (rms + 1e-6)) + 0.1 * x)).ToArray();
            AssertClose(w, Values(p.Parameter), 1e-10);
        }
    }

    [Fact]
    public void KronWhitensAFixedGradientScaleAlongEachSide()
    {
        // PSGD fits P = Q^T Q to E[h h^T]^{-1/2} for h ~ the preconditioned quantity; for gradients
        // scaled by 4 along one row, the fitted P must shrink that row relative to the other.
        var spec = new Core.Training.Kron { Lr = 1e-9, WeightDecay = 0, Beta1 = 0.0, PreconditionerLr = 0.1, FlatStart = 1000 };
        var p = Parameter("blocks.0.w", new double[8], [2, 4], ParameterRole.HiddenMatrix);
        var optimizer = OptimizerFactory.Create(spec, [p], null);
        for (var t = 0; t < 300; t++)
        {
            var g = Pseudo(8, 100 + t);
            for (var i = 0; i < 4; i++) g[i] *= 4;
            StepWith(optimizer, [g]);
        }
        var q0 = optimizer.Slots[0].State["Q0"];
        var p0 = Values(q0.t().matmul(q0));
        // Ideal ratio of the row scales of P0 is 1/4 (P ~ Cov^{-1/2}); accept a loose band around it.
        var ratio = p0[0] / p0[3];
        Assert.InRange(ratio, 0.15, 0.4);
    }

    [Fact]
    public void KronUpdateProbabilityIsOneDuringTheFlatStartThenDecaysToTheFloor()
    {
        var kron = new KronOptimizer(new Core.Training.Kron { FlatStart = 10, ProbabilityDecay = 0.1, MinUpdateProbability = 0.05 }, [], null);
        Assert.Equal(1.0, kron.UpdateProbability(10));
        Assert.Equal(Math.Exp(-0.1 * 5), kron.UpdateProbability(15), 12);
        Assert.Equal(0.05, kron.UpdateProbability(1000));
    }
}
