using System.Diagnostics;
using ModelDsl.Core;
using ModelDsl.Core.Model;
using ModelDsl.Runtime.Compile;

namespace ModelDsl.Runtime.Tests.Runs;

/// <summary>The IR-only inventory (what `modeldsl info` prints) against the compiled model, tensor by tensor.</summary>
public sealed class ModelInventoryTests
{
    private static ModelSpec Dense() => ModelSpec.Llama(vocab: 40, width: 32, depth: 2, heads: 4);

    private static ModelSpec WithBlocks(ModelSpec model, Func<BlockSpec, BlockSpec> change) =>
        model with { Blocks = new ValueList<BlockSpec>(model.Blocks.Select(change)) };

    public static TheoryData<string, ModelSpec> Architectures()
    {
        var data = new TheoryData<string, ModelSpec>
        {
            { "dense", Dense() },
            { "dense untied, biases, QK-norm", WithBlocks(Dense() with { TiedHead = false }, b => b with { Attention = b.Attention with { Bias = true, QkNorm = true },
                FeedForward = new DenseFeedForward { Bias = true, Hidden = 40 } }) },
            { "GELU and ReLU", new ModelSpec { Vocab = 40, Width = 32, Blocks = new ValueList<BlockSpec>([
                new BlockSpec { FeedForward = new DenseFeedForward { Activation = Activation.Gelu } },
                new BlockSpec { FeedForward = new DenseFeedForward { Activation = Activation.Relu, Bias = true } }]) } },
            { "GQA", ModelSpec.Llama(vocab: 40, width: 32, depth: 2, heads: 4, kvHeads: 2) },
            { "headDim given", WithBlocks(Dense(), b => b with { Attention = b.Attention with { HeadDim = 6, Position = new NoPosition() } }) },
            { "MoE", WithBlocks(Dense(), b => b with { FeedForward = new MoeFeedForward { Experts = 4, TopK = 2 } }) },
            { "MoE shared, capacity", WithBlocks(Dense(), b => b with { FeedForward = new MoeFeedForward { Experts = 5, TopK = 3, ExpertHidden = 24,
                Shared = new SharedExperts { Count = 2, Hidden = 16 }, CapacityFactor = 1.25 } }) },
            { "PaTH", WithBlocks(Dense(), b => b with { Attention = b.Attention with { Position = new PathPosition() } }) },
            { "PaTH full rank, no conv, forget gate, GQA", WithBlocks(Dense(), b => b with { Attention = b.Attention with
                { KvHeads = 2, Position = new PathPosition { LowRank = null, ShortConvKernel = 0, ForgetGate = true } } }) },
        };
        foreach (var position in Enum.GetValues<GatePosition>())
            data.Add($"gate {position}", WithBlocks(ModelSpec.Llama(vocab: 40, width: 32, depth: 1, heads: 4, kvHeads: 2),
                b => b with { Attention = b.Attention with { Gate = new GateSpec { Position = position } } }));
        data.Add("gate G1 headwise shared", WithBlocks(Dense(), b => b with { Attention = b.Attention with
            { Gate = new GateSpec { Granularity = GateGranularity.Headwise, SharedAcrossHeads = true, Activation = GateActivation.Silu, Combination = GateCombination.Additive } } }));
        data.Add("gate G3 headwise", WithBlocks(ModelSpec.Llama(vocab: 40, width: 32, depth: 1, heads: 4, kvHeads: 2), b => b with { Attention = b.Attention with
            { Gate = new GateSpec { Position = GatePosition.G3, Granularity = GateGranularity.Headwise } } }));
        return data;
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void TheInventoryIsTheCompiledModel(string name, ModelSpec spec)
    {
        using var model = ModelCompiler.Build(spec);
        var inventory = ModelInventory.Of(spec);

        var compiled = model.named_parameters().Select(p => (p.name, string.Join("x", p.parameter.shape))).OrderBy(p => p.name).ToList();
        var predicted = inventory.Parameters.Select(p => (p.Name, string.Join("x", p.Shape))).OrderBy(p => p.Name).ToList();
        Assert.True(compiled.SequenceEqual(predicted), $"{name}: compiled {string.Join(", ", compiled)}\npredicted {string.Join(", ", predicted)}");
        Assert.Equal(model.ParameterCount, inventory.ParameterCount);
        Assert.Equal(model.NonEmbeddingParameterCount, inventory.NonEmbeddingParameterCount);
        foreach (var length in new[] { 1, 17, 256 })
            Assert.Equal(model.TrainingFlopsPerToken(length), inventory.TrainingFlopsPerToken(length), 9);
        Assert.Equal(model.Describe().Select(r => (r.Name, r.Kind, r.Shape, r.Parameters)),
            inventory.Layers.Select(r => (r.Name, r.Kind, r.Shape, r.Parameters)));
    }

    [Fact]
    public void AHugeModelIsCountedWithoutAllocatingIt()
    {
        // Width 8192, 64 blocks: about 51 billion parameters (over 200 GB in fp32), counted from the IR.
        var spec = ModelSpec.Llama(vocab: 32000, width: 8192, depth: 64, heads: 64) with { MaxSequenceLength = 4096 };
        var before = Process.GetCurrentProcess().WorkingSet64;
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var inventory = ModelInventory.Of(spec);
        var count = inventory.ParameterCount;
        var managed = GC.GetAllocatedBytesForCurrentThread() - allocated;
        var resident = Process.GetCurrentProcess().WorkingSet64 - before;

        const long w = 8192, hidden = 21888; // SwiGLU default: 8/3 * 8192 rounded up to a multiple of 64
        const long perBlock = 3 * w * w + w * w + 3 * w * hidden + 2 * w;
        Assert.Equal(32000 * w + 64 * perBlock + w, count);
        Assert.Equal(64 * perBlock + w, inventory.NonEmbeddingParameterCount);
        Assert.True(managed < 16L << 20, $"{managed} managed bytes allocated");
        Assert.True(resident < 256L << 20, $"the working set grew by {resident} bytes");
    }
}
