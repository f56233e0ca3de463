using ModelDsl.Core.Rl;
using ModelDsl.Runtime.Rl;

namespace ModelDsl.Runtime.Tests.Rl;

public class DynamicSamplingTests
{
    private static bool[] Verdicts(params string[] groups) => groups.SelectMany(g => g.Select(c => c == '1')).ToArray();

    [Fact]
    public void DropsExactlyTheGroupsOutsideTheBand()
    {
        var correct = Verdicts("0000", "1111", "1000", "1110", "1111", "0100");
        var (kept, dropped) = DynamicSampling.Filter(correct, 4, new DynamicSamplingSpec());
        Assert.Equal([2, 3, 5], kept);
        Assert.Equal(3, dropped);
        var narrow = DynamicSampling.Filter(correct, 4, new DynamicSamplingSpec { Low = 0.3, High = 0.8 });
        Assert.Equal([3], narrow.Kept);
        Assert.Equal(5, narrow.Dropped);
        // QuestA's band with 16 samples keeps 1/16 and 15/16.
        var sixteen = Verdicts("1000000000000000", "0000000000000000", "1111111111111110", "1111111111111111");
        Assert.Equal([0, 2], DynamicSampling.Filter(sixteen, 16, new DynamicSamplingSpec()).Kept);
        Assert.Throws<ArgumentException>(() => DynamicSampling.Filter(Verdicts("101"), 2, new DynamicSamplingSpec()));
    }
}
