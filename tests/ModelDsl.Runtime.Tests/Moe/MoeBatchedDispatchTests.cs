using ModelDsl.Runtime.Kernels;
using ModelDsl.Runtime.Moe;
using ModelDsl.Runtime.Tests.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tests.Moe;

/// <summary>
/// Both expert batchings of <see cref="MoeDispatch"/> (padded batched matmuls and expert by expert)
/// against the per-token loop in float64: outputs and the gradients of tokens, combine weights,
/// expert weights and (through top-k weights) the router, on uneven loads with idle experts.
/// </summary>
public class MoeBatchedDispatchTests
{
    private const long Width = 5, Hidden = 3, Experts = 5;

    /// <summary>Expert ids [N, k] with a skewed load: expert 0 takes most slots, expert 3 none (and for k = 1, 1 and 4 none too).</summary>
    private static Tensor UnevenIds(long tokens, long k)
    {
        var ids = new long[tokens * k];
        for (var n = 0; n < tokens; n++)
        {
            if (k == 1) ids[n] = n % 4 == 3 ? 2 : 0;
            else
            {
                ids[n * k] = n % 5 == 4 ? 4 : 0;
                ids[n * k + 1] = n % 3 == 0 ? 2 : 1;
            }
        }
        return tensor(ids, [tokens, k]);
    }

    private sealed record Case(Tensor X, Tensor Weights, Tensor GateUp, Tensor Down)
    {
        public ExpertWeights ExpertWeights => new(GateUp, Down);
        public Tensor[] Leaves => [X, Weights, GateUp, Down];
    }

    private static Case Random(long tokens, long k, int seed)
    {
        var generator = new torch.Generator((ulong)seed, torch.CPU);
        return new Case(
            randn([tokens, Width], ScalarType.Float64, generator: generator).requires_grad_(),
            rand([tokens, k], ScalarType.Float64, generator: generator).requires_grad_(),
            (randn([Experts, 2 * Hidden, Width], ScalarType.Float64, generator: generator) * 0.5).requires_grad_(),
            (randn([Experts, Width, Hidden], ScalarType.Float64, generator: generator) * 0.5).requires_grad_());
    }

    private static void AssertClose(Tensor expected, Tensor actual, string what) =>
        Assert.True(GradientCheck.MaxAbsDifference(expected, actual) < 1e-12, $"{what}: differs by {GradientCheck.MaxAbsDifference(expected, actual):E2}");

    [Theory]
    [InlineData(ExpertBatching.Padded, 1L, null)]
    [InlineData(ExpertBatching.Padded, 2L, null)]
    [InlineData(ExpertBatching.Padded, 2L, 5L)]
    [InlineData(ExpertBatching.Padded, 1L, 4L)]
    [InlineData(ExpertBatching.PerExpert, 1L, null)]
    [InlineData(ExpertBatching.PerExpert, 2L, null)]
    [InlineData(ExpertBatching.PerExpert, 2L, 5L)]
    [InlineData(ExpertBatching.Auto, 2L, null)]
    public void UnevenLoadsWithIdleExpertsMatchThePerTokenLoop(ExpertBatching batching, long k, long? capacity)
    {
        using var scope = NewDisposeScope();
        const long tokens = 13;
        var c = Random(tokens, k, seed: (int)(k * 100 + (capacity ?? 7) + (int)batching));
        var ids = UnevenIds(tokens, k);
        var load = ids.reshape(-1).bincount(null, Experts).data<long>().ToArray();
        Assert.Equal(0, load[3]);  // an expert that receives no token
        Assert.True(load.Max() >= 2 * load.Where(l => l > 0).Min(), "the load must be uneven");

        var fast = MoeDispatch.Forward(c.X, ids, c.Weights, c.ExpertWeights, capacity, batching);
        var naive = MoeDispatchNaive.Forward(c.X, ids, c.Weights, c.ExpertWeights, capacity);
        AssertClose(naive.Output, fast.Output, "output");
        Assert.Equal(naive.DroppedSlots, fast.DroppedSlots);
        Assert.Equal(naive.KeptSlots.data<bool>().ToArray(), fast.KeptSlots.data<bool>().ToArray());
        if (capacity is not null) Assert.True(fast.DroppedSlots > 0, "the case must exercise dropping");

        var probe = randn([tokens, Width], ScalarType.Float64, generator: new torch.Generator(11, torch.CPU));
        var fastGradients = autograd.grad([(fast.Output * probe).sum()], c.Leaves);
        var naiveGradients = autograd.grad([(naive.Output * probe).sum()], c.Leaves);
        string[] names = ["tokens", "combine weights", "gateUp", "down"];
        for (var i = 0; i < names.Length; i++) AssertClose(naiveGradients[i], fastGradients[i], $"gradient of {names[i]}");
        // Idle experts get exactly zero gradient, not padding garbage.
        Assert.Equal(0.0, fastGradients[2][3].abs().max().item<double>());
        Assert.Equal(0.0, fastGradients[3][3].abs().max().item<double>());
    }

    [Theory]
    [InlineData(ExpertBatching.Padded)]
    [InlineData(ExpertBatching.PerExpert)]
    public void BatchingsAgreeWithEachOtherOnRandomRouting(ExpertBatching batching)
    {
        using var scope = NewDisposeScope();
        const long tokens = 17, k = 2;
        var c = Random(tokens, k, seed: 3);
        var ids = rand([tokens, Experts], ScalarType.Float64, generator: new torch.Generator(4, torch.CPU)).topk((int)k, dim: -1).indexes;
        var fast = MoeDispatch.Forward(c.X, ids, c.Weights, c.ExpertWeights, batching: batching);
        var naive = MoeDispatchNaive.Forward(c.X, ids, c.Weights, c.ExpertWeights);
        AssertClose(naive.Output, fast.Output, "output");
        var fastGradients = autograd.grad([fast.Output.square().sum()], c.Leaves);
        var naiveGradients = autograd.grad([naive.Output.square().sum()], c.Leaves);
        for (var i = 0; i < fastGradients.Count; i++) AssertClose(naiveGradients[i], fastGradients[i], $"gradient {i}");
    }

    [Theory]
    [InlineData(ExpertBatching.Padded, 1)]
    [InlineData(ExpertBatching.Padded, 2)]
    [InlineData(ExpertBatching.PerExpert, 2)]
    public void RouterGradientsMatchThePerTokenLoop(ExpertBatching batching, int k)
    {
        using var scope = NewDisposeScope();
        const long tokens = 12;
        // Top-1 normalised would weigh every slot 1 (no router gradient through the dispatch): unnormalised there.
        var router = new MoeRouter((int)Width, (int)Experts, k, normalizeTopK: k > 1, ScalarType.Float64, device: null);
        var routerWeight = router.parameters().First();
        using (no_grad()) routerWeight.copy_(randn([Experts, Width], ScalarType.Float64, generator: new torch.Generator(8, torch.CPU)));
        var c = Random(tokens, k, seed: 9);
        Tensor[] Gradients(Func<Routing, Tensor> output)
        {
            var routing = router.forward(c.X);
            var loss = (output(routing) * c.X.detach().flip(0)).sum();
            return [.. autograd.grad([loss], [routerWeight, c.X, c.GateUp, c.Down])];
        }
        var fast = Gradients(r => MoeDispatch.Forward(c.X, r.Experts, r.Weights, c.ExpertWeights, batching: batching).Output);
        var naive = Gradients(r => MoeDispatchNaive.Forward(c.X, r.Experts, r.Weights, c.ExpertWeights).Output);
        Assert.True(naive[0].abs().max().item<double>() > 0, "the router gradient must not vanish");
        string[] names = ["router", "tokens", "gateUp", "down"];
        for (var i = 0; i < names.Length; i++) AssertClose(naive[i], fast[i], $"gradient of {names[i]}");
    }

    [Fact]
    public void DispatchGradientsOfThePaddedBatchingMatchFiniteDifferences()
    {
        using var scope = NewDisposeScope();
        var c = Random(tokens: 7, k: 2, seed: 21);
        var ids = UnevenIds(7, 2);
        var probe = randn([7, Width], ScalarType.Float64);
        GradientCheck.Check(() => (MoeDispatch.Forward(c.X, ids, c.Weights, c.ExpertWeights, capacity: 4, batching: ExpertBatching.Padded).Output * probe).sum(),
            [("x", c.X), ("weights", c.Weights), ("gateUp", c.GateUp), ("down", c.Down)]);
    }
}
