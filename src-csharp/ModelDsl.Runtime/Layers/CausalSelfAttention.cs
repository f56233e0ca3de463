using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Layers;

/// <summary>
/// Multi-head causal self-attention with grouped-query attention (Ainslie et al. 2023): Heads query
/// heads share KvHeads key/value heads, each KV head serving Heads/KvHeads consecutive query heads.
/// Queries, keys and values come from one fused projection (one matmul instead of three).
/// Optional per-head RMSNorm of queries and keys (QK-norm, Dehghani et al. 2023) before RoPE.
/// </summary>
public sealed class CausalSelfAttention : SequenceMixer
{
    private readonly Linear qkv;
    private readonly Linear output;
    private readonly RmsNorm? queryNorm;
    private readonly RmsNorm? keyNorm;
    private readonly RotaryEmbedding? rotary;

    /// <param name="rotary">Applies RoPE to queries and keys; null for no position encoding (NoPE).</param>
    /// <param name="qkNormEps">Epsilon of QK-norm; null disables it.</param>
    public CausalSelfAttention(int width, int heads, int kvHeads, int headDim, bool bias, RotaryEmbedding? rotary,
        double? qkNormEps, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(CausalSelfAttention))
    {
        if (width < 1 || heads < 1 || kvHeads < 1 || headDim < 1)
            throw new ArgumentException($"attention sizes must be positive (width {width}, heads {heads}, kvHeads {kvHeads}, headDim {headDim})");
        if (heads % kvHeads != 0)
            throw new ArgumentException($"kvHeads {kvHeads} does not divide heads {heads}");
        if (rotary is not null && rotary.HeadDim != headDim)
            throw new ArgumentException($"RoPE head dimension {rotary.HeadDim} differs from the attention's {headDim}");
        Width = width;
        Heads = heads;
        KvHeads = kvHeads;
        HeadDim = headDim;

        qkv = nn.Linear(width, (heads + 2 * kvHeads) * headDim, hasBias: bias, device: device, dtype: dtype);
        output = nn.Linear(heads * headDim, width, hasBias: bias, device: device, dtype: dtype);
        register_module("qkv", qkv);
        register_module("output", output);
        if (qkNormEps is { } eps)
        {
            queryNorm = new RmsNorm(headDim, eps, dtype, device);
            keyNorm = new RmsNorm(headDim, eps, dtype, device);
            register_module("queryNorm", queryNorm);
            register_module("keyNorm", keyNorm);
        }
        if (rotary is not null)
        {
            this.rotary = rotary;
            register_module("rotary", rotary);
        }
    }

    public int Width { get; }
    public int Heads { get; }
    public int KvHeads { get; }
    public int HeadDim { get; }

    /// <summary>When set, attention is computed with explicit probabilities [B, H, T, S] (query
    /// positions start .. start+T-1, keys 0 .. start+T-1), which are handed to this callback during
    /// the forward pass; the tensor belongs to the caller's dispose scope. Null (the default) uses SDPA.</summary>
    public Action<Tensor>? AttentionCapture { get; set; }

    public override Tensor Forward(Tensor x, AttentionCache? cache, long start)
    {
        if (cache is null && start != 0)
            throw new ArgumentException($"attention without a KV cache starts at position 0, not {start}");
        var (batch, length) = (x.shape[0], x.shape[1]);

        var projected = qkv.forward(x);
        var parts = projected.split([Heads * HeadDim, KvHeads * HeadDim, KvHeads * HeadDim], -1);
        var q = parts[0].view(batch, length, Heads, HeadDim).transpose(1, 2);
        var k = parts[1].view(batch, length, KvHeads, HeadDim).transpose(1, 2);
        var v = parts[2].view(batch, length, KvHeads, HeadDim).transpose(1, 2);

        if (queryNorm is not null && keyNorm is not null)
        {
            q = queryNorm.forward(q);
            k = keyNorm.forward(k);
        }
        if (rotary is not null)
        {
            q = rotary.forward(q, start);
            k = rotary.forward(k, start);
        }
        if (cache is not null)
            (k, v) = cache.Append(k, v, start);
        if (KvHeads < Heads)
        {
            // Query head h reads KV head h / (Heads / KvHeads): repeat each KV head in place.
            k = k.repeat_interleave(Heads / KvHeads, dim: 1);
            v = v.repeat_interleave(Heads / KvHeads, dim: 1);
        }

        Tensor attended;
        if (AttentionCapture is { } capture)
        {
            // Opt-in explicit softmax so the probabilities can be observed; SDPA stays the fast path.
            var probabilities = CausalAttention.Probabilities(q, k, start);
            capture(probabilities);
            attended = probabilities.matmul(v);
        }
        else
            attended = CausalAttention.Sdpa(q, k, v, start);
        return output.forward(attended.transpose(1, 2).reshape(batch, length, Heads * HeadDim));
    }

    /// <summary>A cache in the dtype and on the device the weights have now (they may have been moved since construction).</summary>
    public override AttentionCache NewCache(long batch, long capacity) =>
        new(batch, KvHeads, capacity, HeadDim, qkv.weight!.dtype, qkv.weight!.device);

    public override IEnumerable<string> ResidualOutputWeights => ["output.weight"];

    public override IReadOnlyDictionary<string, long[]> FusedRowBlocks => new Dictionary<string, long[]>
    {
        ["qkv.weight"] = [Heads * HeadDim, KvHeads * HeadDim, KvHeads * HeadDim],
    };

    /// <summary>PaLM (Chowdhery et al. 2022, appendix B): 6 * T * (heads * headDim) forward and
    /// backward for QK^T plus the same for the weighted sum of V, i.e. 12 T H D per token; the causal
    /// mask's halving is not credited, following that convention.</summary>
    public override double NonParameterFlopsPerToken(int sequenceLength) => 12.0 * sequenceLength * Heads * HeadDim;

    public override string Kind =>
        $"attention ({Heads} heads{(KvHeads < Heads ? $", {KvHeads} KV heads" : "")}, head dim {HeadDim}, " +
        $"{(rotary is null ? "no position encoding" : $"RoPE θ={rotary.Theta:G6}")}{(queryNorm is null ? "" : ", QK-norm")})";

    public override string Shape => $"{Width} -> {Width}";
}
