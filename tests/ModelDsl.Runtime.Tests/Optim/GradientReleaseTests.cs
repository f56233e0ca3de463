using ModelDsl.Runtime.Optim;
using ModelDsl.Runtime.Parameters;
using static ModelDsl.Runtime.Tests.Optim.OptimTestSupport;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tests.Optim;

/// <summary>ReleaseGradients + backward + ZeroMissingGradients leaves the state ZeroGrad + backward leaves, unreached parameters included:
/// one reached only at the first step (zero gradient afterwards: it keeps stepping) and one never reached (no gradient: it never steps).</summary>
public sealed class GradientReleaseTests
{
    [Fact]
    public void ReleasingBeforeBackwardStepsLikeZeroingBeforeItIncludingAnUnreachedParameter()
    {
        var spec = new Core.Training.AdamW { Lr = 0.05, WeightDecay = 0.3 };
        (OptimizerBase Optimizer, NamedParameter Reached, NamedParameter Unreached, NamedParameter Never) Make()
        {
            var reached = Parameter("blocks.0.w", Pseudo(6, 1), [2, 3], ParameterRole.HiddenMatrix);
            var unreached = Parameter("blocks.1.w", Pseudo(6, 2), [2, 3], ParameterRole.HiddenMatrix);
            var never = Parameter("blocks.2.w", Pseudo(6, 3), [2, 3], ParameterRole.HiddenMatrix);
            return ((OptimizerBase)OptimizerFactory.Create(spec, [reached, unreached, never], clipGradNorm: 1.0), reached, unreached, never);
        }
        var zeroing = Make();
        var releasing = Make();
        for (var step = 0; step < 3; step++)
        {
            // Two micro-batches, so that the second backward adds into the first one's gradients.
            // The second parameter takes part in the loss at the first step only.
            void Backward(NamedParameter reached, NamedParameter firstStepOnly)
            {
                for (var micro = 0; micro < 2; micro++)
                {
                    using var x = tensor(Pseudo(6, 10 * step + micro), ScalarType.Float64).reshape(2, 3);
                    using var loss = step == 0 ? ((reached.Parameter + firstStepOnly.Parameter) * x).square().sum() : (reached.Parameter * x).square().sum();
                    loss.backward();
                }
            }
            zeroing.Optimizer.ZeroGrad();
            Backward(zeroing.Reached, zeroing.Unreached);
            zeroing.Optimizer.Step(1.0, StepContext.None);

            releasing.Optimizer.ReleaseGradients();
            Assert.Null(releasing.Reached.Parameter.grad);
            Backward(releasing.Reached, releasing.Unreached);
            releasing.Optimizer.ZeroMissingGradients();
            if (step > 0) Assert.Equal(new double[6], Values(releasing.Unreached.Parameter.grad!));
            Assert.Null(releasing.Never.Parameter.grad);
            releasing.Optimizer.Step(1.0, StepContext.None);

            Assert.Equal(Values(zeroing.Reached.Parameter), Values(releasing.Reached.Parameter));
            Assert.Equal(Values(zeroing.Unreached.Parameter), Values(releasing.Unreached.Parameter));
        }
        // The parameter left behind after the first step kept stepping on zero gradients, as after ZeroGrad;
        // the one never reached has no gradient and never stepped, on either path.
        Assert.Equal(3, releasing.Optimizer.Slots[1].Steps);
        Assert.Equal(3, zeroing.Optimizer.Slots[1].Steps);
        Assert.Equal(0, releasing.Optimizer.Slots[2].Steps);
        Assert.Equal(0, zeroing.Optimizer.Slots[2].Steps);
        Assert.Equal(Pseudo(6, 3), Values(releasing.Never.Parameter));
        zeroing.Optimizer.Dispose();
        releasing.Optimizer.Dispose();
    }
}
