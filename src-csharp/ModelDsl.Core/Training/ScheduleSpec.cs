using System.Text.Json.Serialization;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Training;

/// <summary>
/// Learning-rate multiplier over the run, as data. Durations are fractions of the total number of
/// optimizer steps so that one schedule serves any budget (modded-nanogpt style).
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(ConstantSchedule), "constant")]
[JsonDerivedType(typeof(WarmupCosine), "warmupCosine")]
[JsonDerivedType(typeof(WarmupStableDecay), "wsd")]
public abstract record ScheduleSpec
{
    /// <summary>Linear warmup from 0 over this fraction of the steps.</summary>
    public double WarmupFraction { get; init; }

    public virtual void Validate(Validator v, string path) => v.Fraction(WarmupFraction, $"{path}.warmupFraction", allowOne: false);
}

/// <summary>Warmup, then the peak rate until the end.</summary>
public sealed record ConstantSchedule : ScheduleSpec;

/// <summary>Warmup, then cosine from the peak down to MinRatio * peak at the last step.</summary>
public sealed record WarmupCosine : ScheduleSpec
{
    public double MinRatio { get; init; } = 0.1;

    public override void Validate(Validator v, string path)
    {
        base.Validate(v, path);
        v.Fraction(MinRatio, $"{path}.minRatio");
    }
}

/// <summary>Warmup-stable-decay: warmup, a constant plateau, then a linear decay to MinRatio *
/// peak over the last DecayFraction of the steps.</summary>
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
}
