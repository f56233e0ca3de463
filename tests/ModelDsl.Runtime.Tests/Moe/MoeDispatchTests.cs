using ModelDsl.Runtime.Kernels;
using ModelDsl.Runtime.Tests.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tests.Moe;

public class MoeDispatchTests
{
    private sealed record Case(Tensor X, Tensor Experts, Tensor Weights, Tensor GateUp, Tensor Down)
    {
        public ExpertWeights ExpertWeights => new(GateUp, Down);
    }

    private static Case Random(long tokens, long experts, long k, long width, long hidden, int seed)
    {
        var generator = new torch.Generator((ulong)seed, torch.CPU);
        var x = randn([tokens, width], ScalarType.Float64, generator: generator).requires_grad_();
        // k distinct experts per token, as top-k gives: the k smallest of random keys.
        var ids = rand([tokens, experts], ScalarType.Float64, generator: generator).topk((int)k, dim: -1, largest: false).indexes;
        var weights = rand([tokens, k], ScalarType.Float64, generator: generator).requires_grad_();
        var gateUp = (randn([experts, 2 * hidden, width], ScalarType.Float64, generator: generator) * 0.5).requires_grad_();
        var down = (randn([experts, width, hidden], ScalarType.Float64, generator: generator) * 0.5).requires_grad_();
        return new Case(x, ids, weights, gateUp, down);
    }

    private static Tensor[] Gradients(Case c, Func<Case, Tensor> output, Tensor probe)
    {
        var leaves = new[] { c.X, c.Weights, c.GateUp, c.Down };
        return autograd.grad([(output(c) * probe).sum()], leaves).ToArray();
    }

    [Theory]
    [InlineData(1L, null)]
    [InlineData(2L, null)]
    [InlineData(2L, 3L)]
    [InlineData(1L, 1L)]
    public void FastDispatchEqualsThePerTokenLoop(long k, long? capacity)
    {
        using var scope = NewDisposeScope();
        var c = Random(tokens: 11, experts: 4, k: k, width: 5, hidden: 3, seed: (int)(k * 10 + (capacity ?? 9)));
        var fast = MoeDispatch.Forward(c.X, c.Experts, c.Weights, c.ExpertWeights, capacity);
        var naive = MoeDispatchNaive.Forward(c.X, c.Experts, c.Weights, c.ExpertWeights, capacity);
        Assert.True(GradientCheck.MaxAbsDifference(fast.Output, naive.Output) < 1e-12);
        Assert.Equal(naive.DroppedSlots, fast.DroppedSlots);
        Assert.Equal(naive.KeptSlots.data<bool>().ToArray(), fast.KeptSlots.data<bool>().ToArray());
        if (capacity is null) Assert.Equal(0, fast.DroppedSlots);
        else Assert.True(fast.DroppedSlots > 0, "the case must exercise dropping");

        var probe = randn_like(fast.Output);
        var fastGradients = Gradients(c, x => MoeDispatch.Forward(x.X, x.Experts, x.Weights, x.ExpertWeights, capacity).Output, probe);
        var naiveGradients = Gradients(c, x => MoeDispatchNaive.Forward(x.X, x.Experts, x.Weights, x.ExpertWeights, capacity).Output, probe);
        for (var i = 0; i < fastGradients.Length; i++)
            Assert.True(GradientCheck.MaxAbsDifference(fastGradients[i], naiveGradients[i]) < 1e-12, $"gradient {i}");
    }

    [Fact]
    public void DispatchGradientsMatchFiniteDifferences()
    {
        using var scope = NewDisposeScope();
        var c = Random(tokens: 6, experts: 3, k: 2, width: 4, hidden: 3, seed: 5);
        var probe = randn([6, 4], ScalarType.Float64);
        GradientCheck.Check(() => (MoeDispatch.Forward(c.X, c.Experts, c.Weights, c.ExpertWeights).Output * probe).sum(),
            [("x", c.X), ("weights", c.Weights), ("gateUp", c.GateUp), ("down", c.Down)]);
    }

    [Fact]
    public void CapacityKeepsTheEarliestTokensOfEachExpertAndZeroesTheRest()
    {
        using var scope = NewDisposeScope();
        var c = Random(tokens: 5, experts: 2, k: 1, width: 3, hidden: 2, seed: 3);
        // Tokens 0, 1, 3, 4 choose expert 0, token 2 expert 1; capacity 2.
        var ids = tensor(new long[] { 0, 0, 1, 0, 0 }, [5, 1]);
        var result = MoeDispatch.Forward(c.X, ids, c.Weights, c.ExpertWeights, capacity: 2);
        Assert.Equal(2, result.DroppedSlots);
        Assert.Equal(new[] { true, true, true, false, false }, result.KeptSlots.reshape(-1).data<bool>().ToArray());
        for (var n = 0; n < 3; n++)
        {
            var expected = c.Weights[n, 0] * c.ExpertWeights.Apply(ids[n, 0].item<long>(), c.X[n].unsqueeze(0))[0];
            Assert.True(GradientCheck.MaxAbsDifference(result.Output[n], expected) < 1e-12, $"token {n} is kept");
        }
        Assert.Equal(0.0, result.Output[3].abs().max().item<double>());
        Assert.Equal(0.0, result.Output[4].abs().max().item<double>());
    }

    [Fact]
    public void CapacityIsTheBalancedLoadTimesTheFactorRoundedUp()
    {
        Assert.Equal(4, MoeDispatch.Capacity(1.0, tokens: 8, k: 2, experts: 4));
        Assert.Equal(5, MoeDispatch.Capacity(1.25, tokens: 8, k: 2, experts: 4));
        Assert.Equal(2, MoeDispatch.Capacity(0.5, tokens: 7, k: 1, experts: 2));
    }

    [Fact]
    public void ExpertIdsOutOfRangeAreRejected()
    {
        using var scope = NewDisposeScope();
        var c = Random(tokens: 3, experts: 2, k: 1, width: 3, hidden: 2, seed: 1);
        var error = Assert.Throws<ArgumentException>(() => MoeDispatch.Forward(c.X, tensor(new long[] { 0, 2, 1 }, [3, 1]), c.Weights, c.ExpertWeights));
        Assert.Contains("[0, 2)", error.Message);
    }
}
