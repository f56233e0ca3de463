using ModelDsl.Runtime.Optim;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Training;

/// <summary>The global L2 norm of the gradients of the optimizer's parameters (fp64 sum of squares),
/// measured without changing them: the divergence check runs it before the optimizer clips and updates.
/// The trainer measures through <see cref="OptimizerBase.MeasureGradients"/> instead, which also
/// yields the clip scope's norm, so that a step computes the norm once.</summary>
public static class GradientNorm
{
    public static double Global(IEnumerable<ParameterSlot> slots)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var squares = slots.Select(s => s.Parameter.grad).Where(g => g is not null)
            .Select(g => GradientSquares.Sum(g!)).ToList();
        return squares.Count == 0 ? 0.0 : stack(squares).sum().sqrt().cpu().item<double>();
    }
}
