using ModelDsl.Core;
using ModelDsl.Core.Model;
using ModelDsl.Core.Tasks;
using ModelDsl.Runtime.Eval;
using ModelDsl.Runtime.Layers;
using ModelDsl.Runtime.Tasks;
using ModelDsl.Runtime.Tests.Layers;
using ModelDsl.Runtime.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using ModelDsl.Runtime.Moe;

namespace ModelDsl.Runtime.Tests.Moe;

/// <summary>
/// Padding is not routed: a padded batch gives the same outputs at real positions, the same balance
/// loss and z-loss, and the same routing statistics as the real tokens alone, and zero routed output
/// at padded positions; a mixture marks exactly the positions it padded.
/// </summary>
public class MoePaddingTests
{
    private static MixtureOfExpertsFeedForward Layer(double? capacity)
    {
        var spec = new MoeFeedForward
        {
            Experts = 4, TopK = 2, ExpertHidden = 6, CapacityFactor = capacity, ZLoss = 1e-2,
            Balance = new LoadBalance { Scope = BalanceScope.MicroBatch, Coefficient = 0.1 },
        };
        return new MixtureOfExpertsFeedForward(spec, width: 5, label: "moe", ScalarType.Float64);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(1.0)]
    public void PaddedPositionsAreNotRouted(double? capacity)
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(3);
        using var layer = Layer(capacity);
        var x = randn([2, 6, 5], ScalarType.Float64);
        // Sequence 0 has 6 real tokens, sequence 1 has 3 and 3 padded positions.
        var padding = tensor(new[] { false, false, false, false, false, false, false, false, false, true, true, true }, [2, 6]);
        var real = padding.logical_not().reshape(-1).nonzero().squeeze(1);
        var realTokens = x.reshape(-1, 5).index_select(0, real).unsqueeze(0);  // [1, 9, 5]

        var recorded = new List<RoutingRecord>();
        layer.RoutingObserver = recorded.Add;
        var paddedLosses = new AuxiliaryLosses();
        layer.Padding = padding;
        var padded = layer.Forward(x, paddedLosses);
        layer.Padding = null;
        var aloneLosses = new AuxiliaryLosses();
        var alone = layer.Forward(realTokens, aloneLosses);

        var difference = GradientCheck.MaxAbsDifference(alone.reshape(-1, 5), padded.reshape(-1, 5).index_select(0, real));
        Assert.True(difference < 1e-12, $"outputs at real positions differ by {difference:E3} (dtype {padded.dtype}, {alone.dtype})");
        Assert.Equal(0.0, padded[1].narrow(0, 3, 3).abs().max().item<double>());
        foreach (var ((name, expected), (_, actual)) in aloneLosses.Terms.Zip(paddedLosses.Terms))
            Assert.True(Math.Abs(expected.item<double>() - actual.item<double>()) < 1e-12, name);
        Assert.Equal(2, paddedLosses.Terms.Count);

        // The padded forward routed 9 tokens, of sequences 0 (six) and 1 (three).
        Assert.Equal([9L, 2], recorded[0].Experts.shape);
        Assert.Equal(new long[] { 0, 0, 0, 0, 0, 0, 1, 1, 1 }, recorded[0].Sequences.data<long>().ToArray());
    }

    [Fact]
    public void AMaskThatDoesNotFitTheInputIsAnError()
    {
        using var scope = NewDisposeScope();
        using var layer = Layer(null);
        layer.Padding = zeros([2, 4], ScalarType.Bool);
        var error = Assert.Throws<ArgumentException>(() => layer.Forward(randn([2, 6, 5], ScalarType.Float64), new AuxiliaryLosses()));
        Assert.Contains("padding mask", error.Message);
    }

    [Fact]
    public void MixtureMarksItsPaddingAndRoutingStatisticsSkipIt()
    {
        using var scope = NewDisposeScope();
        var spec = new TaskMixture
        {
            Components = ValueList.Of(
                new MixtureComponent { Domain = "short", Task = new ChainedArithmetic { Modulus = 5, Steps = 2 } },   // 4 tokens
                new MixtureComponent { Domain = "long", Task = new ChainedArithmetic { Modulus = 5, Steps = 5 } }),   // 10 tokens
        };
        var task = (TaskMixtureTask)ModelDsl.Runtime.Tasks.TaskFactory.Create(spec, 1);
        using var batch = task.TrainBatch(0, 0, 8);
        var domains = batch.Domains!.data<long>().ToArray();
        var padding = batch.Padding!;
        for (var b = 0; b < 8; b++)
        {
            var padded = padding[b].data<bool>().ToArray();
            var realLength = domains[b] == 0 ? 4 : 10;
            Assert.All(padded.Take(realLength), p => Assert.False(p));
            Assert.All(padded.Skip(realLength), p => Assert.True(p));
        }

        using var layer = Layer(null);
        using var statistics = new ExpertRoutingStatistics([layer], task.Domains) { Recording = true, CurrentDomains = batch.Domains };
        layer.Padding = padding;
        layer.Forward(randn([8, task.SequenceLength, 5], ScalarType.Float64), new AuxiliaryLosses());
        var routing = statistics.Snapshot()[0];
        var shortRows = domains.Count(d => d == 0);
        // k = 2 slots per real token, per domain.
        Assert.Equal(2.0 * 4 * shortRows, Enumerable.Range(0, 4).Sum(e => routing.Slots[0, e]));
        Assert.Equal(2.0 * 10 * (8 - shortRows), Enumerable.Range(0, 4).Sum(e => routing.Slots[1, e]));
    }
}
