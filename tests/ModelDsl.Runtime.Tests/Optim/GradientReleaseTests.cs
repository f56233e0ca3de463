using ModelDsl.Runtime.Optim;
using ModelDsl.Runtime.Parameters;
using static ModelDsl.Runtime.Tests.Optim.OptimTestSupport;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tests.Optim;

/// <summary>ReleaseGradients + backward + ZeroMissingGradients leaves the state ZeroGrad + backward leaves, unreached parameters included.</summary>
public sealed class GradientReleaseTests
{
    [Fact]
    public void ReleasingBeforeBackwardStepsLikeZeroingBeforeItIncludingAnUnreachedParameter()
    {
        var spec = new Core.Training.AdamW { Lr = 0.05, WeightDecay = 0.3 };
        (OptimizerBase Optimizer, NamedParameter Reached, NamedParameter Unreached) Make()
        {
            var reached = Parameter("blocks.0.w", Pseudo(6, 1), [2, 3], ParameterRole.HiddenMatrix);
            var unreached = Parameter("blocks.1.w", Pseudo(6, 2), [2, 3], ParameterRole.HiddenMatrix);
            return ((OptimizerBase)OptimizerFactory.Create(spec, [reached, unreached], clipGradNorm: 1.0), reached, unreached);
        }
        var zeroing = Make();
        var releasing = Make();
        for (var step = 0; step < 3; step++)
        {
            // Two micro-batches, so that the second backward adds into the first one's gradients.
            void Backward(NamedParameter reached)
            {
                for (var micro = 0; micro < 2; micro++)
                {
                    using var x = tensor(Pseudo(6, 10 * step + micro), ScalarType.Float64).reshape(2, 3);
                    using var loss = (reached.Parameter * x).square().sum();
                    loss.backward();
                }
            }
            zeroing.Optimizer.ZeroGrad();
            Backward(zeroing.Reached);
            zeroing.Optimizer.Step(1.0, StepContext.None);

            releasing.Optimizer.ReleaseGradients();
            Assert.Null(releasing.Reached.Parameter.grad);
            Backward(releasing.Reached);
            Assert.Null(releasing.Unreached.Parameter.grad);
            releasing.Optimizer.ZeroMissingGradients();
            Assert.Equal(new double[6], Values(releasing.Unreached.Parameter.grad!));
            releasing.Optimizer.Step(1.0, StepContext.None);

            Assert.Equal(Values(zeroing.Reached.Parameter), Values(releasing.Reached.Parameter));
            Assert.Equal(Values(zeroing.Unreached.Parameter), Values(releasing.Unreached.Parameter));
        }
        // The unreached parameter was still decayed (and counted its steps), as after ZeroGrad.
        Assert.NotEqual(Pseudo(6, 2), Values(releasing.Unreached.Parameter));
        Assert.Equal(3, releasing.Optimizer.Slots[1].Steps);
        zeroing.Optimizer.Dispose();
        releasing.Optimizer.Dispose();
    }
}
