using ModelDsl.Core.Training;

namespace ModelDsl.Runtime.Schedules;

/// <summary>
/// The learning-rate multiplier (of the peak rate) at optimizer step <c>step</c> (0-based) of
/// <c>totalSteps</c>. Phase lengths are whole steps: W = floor(WarmupFraction * total) warmup steps,
/// and for WSD D = floor(DecayFraction * total) decay steps at the end.
/// </summary>
public static class LearningRateSchedule
{
    public static double Multiplier(ScheduleSpec schedule, long step, long totalSteps)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        if (totalSteps < 1) throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, "total steps must be at least 1");
        if (step < 0 || step >= totalSteps)
            throw new ArgumentOutOfRangeException(nameof(step), step, $"step must lie in [0, {totalSteps})");

        var warmup = WholeSteps(schedule.WarmupFraction, totalSteps);
        // Linear warmup reaching the peak on its last step, so the first step already moves (rate 1/W).
        if (step < warmup) return (double)(step + 1) / warmup;

        switch (schedule)
        {
            case ConstantSchedule:
                return 1.0;
            case WarmupCosine cosine:
            {
                // Half a cosine period from the peak (first step after warmup) to MinRatio (last step).
                var span = totalSteps - warmup - 1;
                var progress = span == 0 ? 0.0 : (double)(step - warmup) / span;
                return cosine.MinRatio + (1 - cosine.MinRatio) * 0.5 * (1 + Math.Cos(Math.PI * progress));
            }
            case WarmupStableDecay wsd:
            {
                // Plateau at the peak, then linear decay reaching MinRatio on the last step
                // (Hägele et al. 2024, "Scaling Laws and Compute-Optimal Training Beyond Fixed Training Durations").
                var decay = WholeSteps(wsd.DecayFraction, totalSteps);
                var decayStart = totalSteps - decay;
                if (step < decayStart) return 1.0;
                var progress = (double)(step - decayStart + 1) / decay;
                return 1 - (1 - wsd.MinRatio) * progress;
            }
            default:
                throw new NotSupportedException($"schedule {schedule.GetType().Name} has no runtime implementation");
        }
    }

    // The tolerance keeps products such as 0.29 * 100 = 28.999999999999996 from losing a step.
    private static long WholeSteps(double fraction, long totalSteps) => (long)Math.Floor(fraction * totalSteps + 1e-9);
}
