using ModelDsl.Core;
using ModelDsl.Core.Model;

namespace ModelDsl.Runtime.Tests.Compile;

/// <summary>Small specs shared by the model, cache and generation tests.</summary>
internal static class TinyModels
{
    /// <summary>Grouped-query RoPE attention, SwiGLU, untied head.</summary>
    public static ModelSpec GroupedQuery(int maxSequenceLength = 32) =>
        ModelSpec.Llama(vocab: 13, width: 16, depth: 2, heads: 4, kvHeads: 2) with { TiedHead = false, MaxSequenceLength = maxSequenceLength };

    /// <summary>A heterogeneous stack: a RoPE block with QK-norm and biases, then a NoPE block with
    /// one KV head, its own head dimension and a GELU MLP; tied head.</summary>
    public static ModelSpec Mixed(int maxSequenceLength = 32) => new()
    {
        Vocab = 11,
        Width = 12,
        MaxSequenceLength = maxSequenceLength,
        Blocks = ValueList.Of(
            new BlockSpec { Attention = new AttentionSpec { Heads = 3, KvHeads = 3, QkNorm = true, Bias = true } },
            new BlockSpec
            {
                Attention = new AttentionSpec { Heads = 2, KvHeads = 1, HeadDim = 5, Position = new NoPosition() },
                FeedForward = new DenseFeedForward { Hidden = 20, Activation = Activation.Gelu, Bias = true },
            }),
    };
}
