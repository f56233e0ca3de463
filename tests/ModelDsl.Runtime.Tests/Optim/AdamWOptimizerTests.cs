using ModelDsl.Runtime.Optim;
using TorchSharp.Modules;
using static ModelDsl.Runtime.Tests.Optim.OptimTestSupport;
using static TorchSharp.torch;
using ModelDsl.Runtime.Parameters;

namespace ModelDsl.Runtime.Tests.Optim;

public sealed class AdamWOptimizerTests
{
    [Fact]
    public void MatchesTorchSharpsAdamWOverSeveralStepsWithADecayedAndAnUndecayedGroup()
    {
        var spec = new Core.Training.AdamW { Lr = 0.05, WeightDecay = 0.3, Beta1 = 0.8, Beta2 = 0.9, Eps = 1e-6 };
        var matrix = Parameter("w", Pseudo(6, 1), [2, 3], ParameterRole.HiddenMatrix);
        var vector = Parameter("b", Pseudo(3, 2), [3], ParameterRole.Bias);
        var ours = OptimizerFactory.Create(spec, [matrix, vector], clipGradNorm: null);

        var theirMatrix = new Parameter(tensor(Pseudo(6, 1), ScalarType.Float64).reshape(2, 3));
        var theirVector = new Parameter(tensor(Pseudo(3, 2), ScalarType.Float64));
        var theirs = optim.AdamW([
            new AdamW.ParamGroup([theirMatrix], new AdamW.Options { weight_decay = spec.WeightDecay }),
            new AdamW.ParamGroup([theirVector], new AdamW.Options { weight_decay = 0.0 })],
            spec.Lr, spec.Beta1, spec.Beta2, spec.Eps, weight_decay: 0.0);

        for (var step = 0; step < 6; step++)
        {
            var gm = Pseudo(6, 10 + step);
            var gv = Pseudo(3, 20 + step);
            var multiplier = 1.0 - 0.1 * step;
            StepWith(ours, [gm, gv], multiplier);
            foreach (var group in theirs.ParamGroups) group.LearningRate = spec.Lr * multiplier;
            theirMatrix.grad = tensor(gm, ScalarType.Float64).reshape(2, 3);
            theirVector.grad = tensor(gv, ScalarType.Float64);
            theirs.step();
            AssertClose(Values(theirMatrix), Values(matrix.Parameter), 1e-12);
            AssertClose(Values(theirVector), Values(vector.Parameter), 1e-12);
        }
    }

    [Fact]
    public void TwoStepsMatchAdamWWrittenOutByHand()
    {
        // Loshchilov and Hutter 2019, Algorithm 2: m, v EMAs, bias corrections by step, and the decay
        // applied to the weights outside the adaptive ratio; biases are not decayed.
        const double lr = 0.03, wd = 0.2, b1 = 0.7, b2 = 0.85, eps = 1e-7;
        var spec = new Core.Training.AdamW { Lr = lr, WeightDecay = wd, Beta1 = b1, Beta2 = b2, Eps = eps };
        var (w0, c0) = (Pseudo(6, 1), Pseudo(3, 2));
        var matrix = Parameter("blocks.0.w", w0, [2, 3], ParameterRole.HiddenMatrix);
        var bias = Parameter("blocks.0.b", c0, [3], ParameterRole.Bias);
        using var optimizer = OptimizerFactory.Create(spec, [matrix, bias], clipGradNorm: null);
        var (w, c) = ((double[])w0.Clone(), (double[])c0.Clone());
        var (mw, vw, mc, vc) = (new double[6], new double[6], new double[3], new double[3]);
        for (var t = 1; t <= 2; t++)
        {
            var (gw, gc) = (Pseudo(6, 10 + t), Pseudo(3, 20 + t));
            var multiplier = t == 1 ? 1.0 : 0.6;
            StepWith(optimizer, [gw, gc], multiplier);
            void Adam(double[] x, double[] g, double[] m, double[] v, double decay)
            {
                for (var i = 0; i < x.Length; i++)
                {
                    m[i] = b1 * m[i] + (1 - b1) * g[i];
                    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                    var mHat = m[i] / (1 - Math.Pow(b1, t));
                    var vHat = v[i] / (1 - Math.Pow(b2, t));
                    x[i] -= lr * multiplier * (mHat / (Math.Sqrt(vHat) + eps) + decay * x[i]);
                }
            }
            Adam(w, gw, mw, vw, wd);
            Adam(c, gc, mc, vc, 0.0);
            AssertClose(w, Values(matrix.Parameter), 1e-12);
            AssertClose(c, Values(bias.Parameter), 1e-12);
        }
    }

    [Fact]
    public void ClippingScalesGradientsToTheMaximumGlobalNormAndReportsTheNormBefore()
    {
        var spec = new Core.Training.AdamW { Lr = 0.1, WeightDecay = 0, Beta1 = 0.0, Beta2 = 0.5, Eps = 0 };
        var a = Parameter("a", [1.0], [1], ParameterRole.Bias);
        var b = Parameter("b", [1.0], [1], ParameterRole.Bias);
        var optimizer = OptimizerFactory.Create(spec, [a, b], clipGradNorm: 1.0);
        a.Parameter.grad = tensor(new[] { 3.0 }, ScalarType.Float64);
        b.Parameter.grad = tensor(new[] { 4.0 }, ScalarType.Float64);
        var norm = optimizer.Step(1.0, StepContext.None);
        Assert.Equal(5.0, norm, 12);
        // Gradients were scaled by 1 / (5 + 1e-6); with beta1 = 0 and eps = 0 Adam's step is sign-like, so check the stored moment.
        var m = Values(optimizer.Slots[0].State["m"]);
        Assert.Equal(3.0 / (5 + 1e-6), m[0], 12);
    }
}
