using ModelDsl.Core.Training;

namespace ModelDsl.Runtime.Tests.Schedules;

public class LearningRateScheduleTests
{
    private static double At(ScheduleSpec s, long step, long total) => s.Multiplier(step, total);

    [Fact]
    public void ConstantWarmsUpLinearlyThenHolds()
    {
        var s = new ConstantSchedule { WarmupFraction = 0.1 }; // 10 warmup steps of 100
        Assert.Equal(0.1, At(s, 0, 100), 12);
        Assert.Equal(0.5, At(s, 4, 100), 12);
        Assert.Equal(1.0, At(s, 9, 100), 12);
        Assert.Equal(1.0, At(s, 10, 100), 12);
        Assert.Equal(1.0, At(s, 99, 100), 12);
        Assert.Equal(1.0, At(new ConstantSchedule(), 0, 5), 12);
    }

    [Fact]
    public void CosineGoesFromPeakToMinRatioAtTheLastStep()
    {
        var s = new WarmupCosine { WarmupFraction = 0.1, MinRatio = 0.1 }; // warmup 10, cosine over steps 10..100 (span 90)
        Assert.Equal(0.1, At(s, 0, 101), 12); // floor(10.1) = 10 warmup steps
        Assert.Equal(1.0, At(s, 9, 101), 12);
        Assert.Equal(1.0, At(s, 10, 101), 12);
        Assert.Equal(0.55, At(s, 55, 101), 12); // halfway: 0.1 + 0.9 * 0.5 * (1 + cos(pi/2))
        Assert.Equal(0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI / 3)), At(s, 40, 101), 12); // a third of the way
        Assert.Equal(0.1, At(s, 100, 101), 12);
    }

    [Fact]
    public void WsdHoldsThePlateauThenDecaysLinearlyToMinRatio()
    {
        var s = new WarmupStableDecay { WarmupFraction = 0.1, DecayFraction = 0.2, MinRatio = 0.0 }; // 10 warmup, 70 stable, 20 decay
        Assert.Equal(0.1, At(s, 0, 100), 12);
        Assert.Equal(1.0, At(s, 10, 100), 12);
        Assert.Equal(1.0, At(s, 79, 100), 12);
        Assert.Equal(0.95, At(s, 80, 100), 12);
        Assert.Equal(0.5, At(s, 89, 100), 12);
        Assert.Equal(0.0, At(s, 99, 100), 12);
        var withFloor = s with { MinRatio = 0.2 };
        Assert.Equal(0.2, At(withFloor, 99, 100), 12);
        Assert.Equal(0.6, At(withFloor, 89, 100), 12);
        Assert.Equal(29.0 / 29, At(new WarmupStableDecay { WarmupFraction = 0.29, DecayFraction = 0 }, 28, 100), 12); // 0.29 * 100 = 29 steps, not 28
        Assert.Equal(28.0 / 29, At(new WarmupStableDecay { WarmupFraction = 0.29, DecayFraction = 0 }, 27, 100), 12);
    }

    [Fact]
    public void StepsOutsideTheRunAreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => At(new ConstantSchedule(), 10, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => At(new ConstantSchedule(), -1, 10));
    }
}
