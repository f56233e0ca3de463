using ModelDsl.Runtime.Optim;
using static ModelDsl.Runtime.Tests.Optim.OptimTestSupport;
using static TorchSharp.torch;
using ModelDsl.Runtime.Parameters;

namespace ModelDsl.Runtime.Tests.Optim;

public sealed class MuonOptimizerTests
{
    [Fact]
    public void NewtonSchulzReproducesThePublishedVectors()
    {
        double[] squareIn = [.2450, .1280, .0010, .4861, .3499, .2341, .3737, .9310, .9632, .9400, .5003, .1285, .3585, .4744, .7334, .6123];
        double[] squareOut = [-.0493, .3418, -.5932, .5596, .3052, -.4529, .1063, .7101, .6898, .5104, .0184, -.3814, -.4041, .2930, .7062, .2322];
        double[] tallIn = [.83079288, .13086341, .34745056, .05995961, .02953721, .58638872, .06437917, .68301915];
        double[] tallOut = [.8826, .1575, .3692, .0714, .0445, .6226, .0836, .7259];
        AssertAbsolute(squareOut, Values(NewtonSchulz.Orthogonalize(tensor(squareIn, ScalarType.Float64).reshape(4, 4), 5)), 1e-4);
        AssertAbsolute(tallOut, Values(NewtonSchulz.Orthogonalize(tensor(tallIn, ScalarType.Float64).reshape(4, 2), 5)), 1e-4);
    }

    private static void AssertAbsolute(double[] expected, double[] actual, double tolerance)
    {
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"element {i}: expected {expected[i]}, got {actual[i]}");
    }

    [Fact]
    public void TwoStepsMatchAHandComputationForTheMatrixAndTheAdamWGroups()
    {
        var spec = new Core.Training.Muon { Lr = 0.02, WeightDecay = 0.1, Momentum = 0.9, AdamLrRatio = 0.3, AdamBeta1 = 0.8, AdamBeta2 = 0.9, AdamEps = 1e-8 };
        var w0 = Pseudo(6, 1);
        var e0 = Pseudo(4, 2);
        var matrix = Parameter("blocks.0.w", w0, [3, 2], ParameterRole.HiddenMatrix);
        var embedding = Parameter("embedding.weight", e0, [2, 2], ParameterRole.Embedding);
        var optimizer = OptimizerFactory.Create(spec, [matrix, embedding], clipGradNorm: null);
        Assert.Equal(["muon", "adamW"], optimizer.Slots.Select(s => s.Group));

        var w = (double[])w0.Clone();
        var e = (double[])e0.Clone();
        var buffer = new double[6];
        var (m, v) = (new double[4], new double[4]);
        for (var t = 1; t <= 2; t++)
        {
            var gw = Pseudo(6, 10 + t);
            var ge = Pseudo(4, 20 + t);
            StepWith(optimizer, [gw, ge]);
            for (var i = 0; i < 6; i++) buffer[i] = 0.9 * buffer[i] + gw[i];
            var nesterov = gw.Select((g, i) => g + 0.9 * buffer[i]).ToArray();
            var o = NewtonSchulzByHand(nesterov, 3, 2, 5);
            var scale = Math.Sqrt(3.0 / 2.0);
            w = w.Select((x, i) => x - 0.02 * (o[i] * scale + 0.1 * x)).ToArray();
            for (var i = 0; i < 4; i++)
            {
                m[i] = 0.8 * m[i] + 0.2 * ge[i];
                v[i] = 0.9 * v[i] + 0.1 * ge[i] * ge[i];
                var u = m[i] / (1 - Math.Pow(0.8, t)) / (Math.Sqrt(v[i] / (1 - Math.Pow(0.9, t))) + 1e-8);
                e[i] -= 0.02 * 0.3 * u; // embeddings are not decayed
            }
            AssertClose(w, Values(matrix.Parameter), 1e-10);
            AssertClose(e, Values(embedding.Parameter), 1e-10);
        }
    }

    [Fact]
    public void ClippingCoversTheAdamWGroupOnly()
    {
        var spec = new Core.Training.Muon { Lr = 0.02, WeightDecay = 0 };
        var matrix = Parameter("w", Pseudo(4, 1), [2, 2], ParameterRole.HiddenMatrix);
        var norm = Parameter("norm.weight", [3.0, 4.0], [2], ParameterRole.Norm);
        var optimizer = OptimizerFactory.Create(spec, [matrix, norm], clipGradNorm: 1.0);
        var matrixGradient = new[] { 10.0, 0, 0, 10.0 };
        StepWith(optimizer, [matrixGradient, [3.0, 4.0]]);
        // The matrix gradient (norm 14.1) is not scaled: the momentum buffer holds it as given.
        AssertClose(matrixGradient, Values(optimizer.Slots[0].State["momentum"]), 1e-15);
        // The norm gains' gradient (norm 5) is scaled to norm 1 before Adam: m = (1 - b1) g / (5 + 1e-6).
        AssertClose([0.1 * 3 / (5 + 1e-6), 0.1 * 4 / (5 + 1e-6)], Values(optimizer.Slots[1].State["m"]), 1e-12);
    }
}
