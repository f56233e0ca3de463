using ModelDsl.Core.Variants;
using System.Text.Json.Serialization;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Training;

/// <summary>
/// Learning-rate multiplier over the run, as data. Durations are fractions of the total number of
/// optimizer steps so that one schedule serves any budget (modded-nanogpt style).
/// </summary>
public abstract record ScheduleSpec
{
    /// <summary>Linear warmup from 0 over this fraction of the steps.</summary>
    public double WarmupFraction { get; init; }

    public virtual void Validate(Validator v, string path) => v.Fraction(WarmupFraction, $"{path}.warmupFraction", allowOne: false);

    /// <summary>
    /// The multiplier of the peak rate at optimizer step <paramref name="step"/> (0-based) of
    /// <paramref name="totalSteps"/>. Phase lengths are whole steps: W = floor(WarmupFraction * total)
    /// warmup steps, with a linear warmup reaching the peak on its last step, so the first step already
    /// moves (rate 1/W); the shape after warmup is the variant's.
    /// </summary>
    public double Multiplier(long step, long totalSteps)
    {
        if (totalSteps < 1) throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, "total steps must be at least 1");
        if (step < 0 || step >= totalSteps)
            throw new ArgumentOutOfRangeException(nameof(step), step, $"step must lie in [0, {totalSteps})");
        var warmup = WholeSteps(WarmupFraction, totalSteps);
        return step < warmup ? (double)(step + 1) / warmup : AfterWarmup(step, warmup, totalSteps);
    }

    /// <summary>The multiplier at a step after the <paramref name="warmup"/> warmup steps.</summary>
    protected abstract double AfterWarmup(long step, long warmup, long totalSteps);

    // The tolerance keeps products such as 0.29 * 100 = 28.999999999999996 from losing a step.
    protected static long WholeSteps(double fraction, long totalSteps) => (long)Math.Floor(fraction * totalSteps + 1e-9);
}

/// <summary>Warmup, then the peak rate until the end.</summary>
[Kind("constant")]
public sealed record ConstantSchedule : ScheduleSpec
{
    protected override double AfterWarmup(long step, long warmup, long totalSteps) => 1.0;
}

/// <summary>Warmup, then cosine from the peak down to MinRatio * peak at the last step.</summary>
[Kind("warmupCosine")]
public sealed record WarmupCosine : ScheduleSpec
{
    public double MinRatio { get; init; } = 0.1;

    public override void Validate(Validator v, string path)
    {
        base.Validate(v, path);
        v.Fraction(MinRatio, $"{path}.minRatio");
    }

    // Half a cosine period from the peak (first step after warmup) to MinRatio (last step).
    protected override double AfterWarmup(long step, long warmup, long totalSteps)
    {
        var span = totalSteps - warmup - 1;
        var progress = span == 0 ? 0.0 : (double)(step - warmup) / span;
        return MinRatio + (1 - MinRatio) * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }
}

/// <summary>Warmup-stable-decay: warmup, a constant plateau, then a linear decay to MinRatio *
/// peak over the last DecayFraction of the steps.</summary>
[Kind("wsd")]
public sealed record WarmupStableDecay : ScheduleSpec
{
    public double DecayFraction { get; init; } = 0.2;
    public double MinRatio { get; init; }

    public override void Validate(Validator v, string path)
    {
        base.Validate(v, path);
        v.Fraction(DecayFraction, $"{path}.decayFraction");
        v.Fraction(MinRatio, $"{path}.minRatio");
        v.Require(WarmupFraction + DecayFraction <= 1, path,
            $"warmupFraction {Validator.Show(WarmupFraction)} + decayFraction {Validator.Show(DecayFraction)} exceeds 1");
    }

    // Plateau at the peak, then linear decay reaching MinRatio on the last step (Hägele et al. 2024,
    // "Scaling Laws and Compute-Optimal Training Beyond Fixed Training Durations").
    protected override double AfterWarmup(long step, long warmup, long totalSteps)
    {
        var decayStart = totalSteps - WholeSteps(DecayFraction, totalSteps);
        if (step < decayStart) return 1.0;
        return 1 - (1 - MinRatio) * ((double)(step - decayStart + 1) / (totalSteps - decayStart));
    }
}
