using ModelDsl.Core.Model;
using ModelDsl.Runtime.Compile;
using TorchSharp;
using static TorchSharp.torch;
using ModelDsl.Runtime.Variants;

namespace ModelDsl.Runtime.Attention;

/// <summary>
/// Softmax attention over q·k, with RoPE applied to queries and keys, or no position encoding at
/// all (NoPE: the causal mask alone breaks symmetry). Keys are cached after RoPE and before the
/// grouped-query repeat. The fused SDPA kernel is the fast path; the explicit softmax runs only when
/// the probabilities are captured.
/// </summary>
public sealed class DotProductAttentionCore : AttentionCore
{
    private readonly RotaryEmbedding? rotary;

    /// <param name="rotary">RoPE for queries and keys; null for no position encoding.</param>
    public DotProductAttentionCore(int heads, int kvHeads, int headDim, RotaryEmbedding? rotary)
        : base(nameof(DotProductAttentionCore), heads, kvHeads, headDim)
    {
        if (rotary is not null && rotary.HeadDim != headDim)
            throw new ArgumentException($"RoPE head dimension {rotary.HeadDim} differs from the attention's {headDim}");
        if (rotary is not null)
        {
            this.rotary = rotary;
            register_module("rotary", rotary);
        }
    }

    public RotaryEmbedding? Rotary => rotary;

    public override Tensor Attend(Tensor x, Tensor q, Tensor k, Tensor v, LayerCache? cache, long start, Action<Tensor>? capture)
    {
        if (rotary is not null)
        {
            q = rotary.forward(q, start);
            k = rotary.forward(k, start);
        }
        if (cache is not null)
        {
            if (cache is not AttentionCache kv)
                throw new ArgumentException($"dot-product attention needs a key/value cache, got {cache.GetType().Name}");
            (k, v) = kv.Append(k, v, start);
        }
        k = RepeatKvHeads(k);
        v = RepeatKvHeads(v);
        if (capture is null)
            return CausalAttention.Sdpa(q, k, v, start);
        var probabilities = CausalAttention.Probabilities(q, k, start);
        capture(probabilities);
        return probabilities.matmul(v);
    }

    public override LayerCache NewCache(long batch, long capacity, ScalarType dtype, Device device) =>
        new AttentionCache(batch, KvHeads, capacity, HeadDim, dtype, device);

    /// <summary>PaLM (Chowdhery et al. 2022, appendix B): 6 * T * (heads * headDim) forward and
    /// backward for QK^T plus the same for the weighted sum of V, i.e. 12 T H D per token; the causal mask's halving is not credited, following that convention.</summary>
    public override double NonParameterFlopsPerToken(int sequenceLength) => 12.0 * sequenceLength * Heads * HeadDim;

    [Implements(typeof(Rope))]
    public static AttentionCore Build(Rope rope, AttentionSpec attention, BuildContext context)
    {
        var headDim = attention.EffectiveHeadDim(context.Model.Width);
        return new DotProductAttentionCore(attention.Heads, attention.EffectiveKvHeads, headDim,
            new RotaryEmbedding(headDim, context.Model.MaxSequenceLength, rope.Theta, context.Dtype, context.Device));
    }

    [Implements(typeof(NoPosition))]
    public static AttentionCore Build(NoPosition none, AttentionSpec attention, BuildContext context) =>
        new DotProductAttentionCore(attention.Heads, attention.EffectiveKvHeads, attention.EffectiveHeadDim(context.Model.Width), rotary: null);

    public override string Description => rotary is null ? "no position encoding" : $"RoPE θ={rotary.Theta:G6}";
}
