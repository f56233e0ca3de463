using System.Diagnostics;

namespace ModelDsl.Runtime.Training;

/// <summary>Accumulates a step's phase times from one Stopwatch; only created when timings are requested.</summary>
public sealed class StepClock
{
    private readonly Stopwatch watch = Stopwatch.StartNew();
    private double last;

    public double Batch { get; private set; }
    public double ZeroGrad { get; private set; }
    public double ForwardLoss { get; private set; }
    public double Backward { get; private set; }
    public double GradientNorm { get; private set; }
    public double Clip { get; private set; }
    public double Optimizer { get; private set; }

    /// <summary>Seconds since the previous mark (or the clock's start).</summary>
    private double Lap()
    {
        var now = watch.Elapsed.TotalSeconds;
        var lap = now - last;
        last = now;
        return lap;
    }

    /// <summary>Starts timing from now, discarding what passed since the last mark.</summary>
    public void Mark() => Lap();
    public void EndBatch() => Batch += Lap();
    public void EndZeroGrad() => ZeroGrad += Lap();
    public void EndForwardLoss() => ForwardLoss += Lap();
    public void EndBackward() => Backward += Lap();
    public void EndGradientNorm() => GradientNorm += Lap();
    public void EndClip() => Clip += Lap();
    public void EndOptimizer() => Optimizer += Lap();

    public StepTimings Finish(long step) =>
        new(step, watch.Elapsed.TotalSeconds, Batch, ZeroGrad, ForwardLoss, Backward, GradientNorm, Clip, Optimizer);
}
