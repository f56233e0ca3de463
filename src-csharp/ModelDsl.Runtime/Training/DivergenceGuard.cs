using System.Globalization;
using ModelDsl.Core.Training;

namespace ModelDsl.Runtime.Training;

/// <summary>
/// Judges each step from its loss and global gradient norm, before the update is applied
/// (<see cref="DivergenceSpec"/>). The spike rule compares the loss with mean + k sigma (population
/// sigma) of the last window of accepted losses: every finite loss that was not itself a spike enters
/// the window, so the window is a function of the recorded losses alone and a resumed run rebuilds it
/// exactly by <see cref="Replay"/>.
/// </summary>
public sealed class DivergenceGuard(DivergenceSpec spec)
{
    private readonly Queue<double> window = new();

    public DivergenceSpec Spec { get; } = spec;

    /// <summary>Null when the step may be applied; otherwise what is wrong with it, in words.</summary>
    public string? Assess(double loss, double gradientNorm)
    {
        var lossFinite = double.IsFinite(loss);
        var normFinite = double.IsFinite(gradientNorm);
        var spike = lossFinite && IsSpike(loss, out var threshold) ? threshold : (double?)null;
        if (lossFinite && spike is null) Remember(loss);
        if (!lossFinite && !normFinite) return $"the loss is {Show(loss)} and the gradient norm is {Show(gradientNorm)}";
        if (!lossFinite) return $"the loss is {Show(loss)}";
        if (!normFinite) return $"the gradient norm is {Show(gradientNorm)} (the loss is {Show(loss)})";
        if (spike is { } limit)
            return $"the loss {Show(loss)} spiked above {Show(limit)} (mean + {Show(Spec.SpikeSigma!.Value)} sigma of the last {Spec.SpikeWindow} losses)";
        return null;
    }

    /// <summary>Rebuilds the window from recorded losses (index i is step i + 1), as the live run built it.</summary>
    public void Replay(IEnumerable<double> losses)
    {
        window.Clear();
        foreach (var loss in losses)
            if (double.IsFinite(loss) && !IsSpike(loss, out _)) Remember(loss);
    }

    private bool IsSpike(double loss, out double threshold)
    {
        threshold = double.PositiveInfinity;
        if (Spec.SpikeSigma is not { } k || window.Count < Spec.SpikeWindow) return false;
        var mean = window.Average();
        var variance = window.Sum(x => (x - mean) * (x - mean)) / window.Count;
        threshold = mean + k * Math.Sqrt(variance);
        return loss > threshold;
    }

    private void Remember(double loss)
    {
        if (Spec.SpikeSigma is null) return;
        window.Enqueue(loss);
        while (window.Count > Spec.SpikeWindow) window.Dequeue();
    }

    private static string Show(double x) => x.ToString("G6", CultureInfo.InvariantCulture);
}
