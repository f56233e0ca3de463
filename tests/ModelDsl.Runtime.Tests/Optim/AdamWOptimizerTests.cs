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
