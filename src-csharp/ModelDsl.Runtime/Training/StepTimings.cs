namespace ModelDsl.Runtime.Training;

/// <summary>
/// Wall-clock seconds of one training step by phase (<see cref="TrainOptions.OnStepTimings"/>).
/// Total runs from the start of the step's loop iteration to the end of its bookkeeping (metrics,
/// progress, evaluation, checkpoint checks). Batch builds and checks the step's micro-batches;
/// ForwardLoss and Backward sum over micro-batches; GradientNorm measures the global norm once and
/// Clip scales the clip scope's gradients; Optimizer is the update itself; ZeroGrad clears gradients.
/// Overhead is everything else (batch construction included): Total minus the compute phases.
/// On a CPU every operation completes before the next reading, so the phases are exact.
/// </summary>
public sealed record StepTimings(long Step, double Total, double Batch, double ZeroGrad, double ForwardLoss, double Backward,
    double GradientNorm, double Clip, double Optimizer)
{
    /// <summary>Everything but forward, loss, backward, norm, clipping, update and zeroing: the trainer's own cost.</summary>
    public double Overhead => Total - ForwardLoss - Backward - GradientNorm - Clip - Optimizer - ZeroGrad;
}
