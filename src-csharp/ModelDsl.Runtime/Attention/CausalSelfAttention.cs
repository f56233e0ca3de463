using ModelDsl.Runtime.Parameters;
using ModelDsl.Core.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using ModelDsl.Runtime.Layers;
using RmsNorm = ModelDsl.Runtime.Layers.RmsNorm;

namespace ModelDsl.Runtime.Attention;

/// <summary>
/// Multi-head causal self-attention with grouped-query attention (Ainslie et al. 2023): Heads query
/// heads share KvHeads key/value heads, each KV head serving Heads/KvHeads consecutive query heads.
/// Queries, keys and values come from one fused projection (one matmul instead of three).
/// Optional per-head RMSNorm of queries and keys (QK-norm, Dehghani et al. 2023) before the
/// position encoding. The position encoding and the score computation are the <see cref="AttentionCore"/>.
/// An optional <see cref="AttentionGate"/> (arXiv 2505.06708) gates one tensor: the core's output
/// (G1), the values (G2), keys (G3) or queries (G4) after their projection and QK-norm, or the output
/// (G5). Keys and values are gated before the core, so decoding caches gated keys and values.
/// </summary>
public sealed class CausalSelfAttention : AttentionLayer
{
    private readonly Linear qkv;
    private readonly Linear output;
    private readonly RmsNorm? queryNorm;
    private readonly RmsNorm? keyNorm;
    private readonly AttentionCore core;
    private readonly AttentionGate? gate;

    /// <param name="core">Position encoding and scores; its head counts are the layer's.</param>
    /// <param name="qkNormEps">Epsilon of QK-norm; null disables it.</param>
    /// <param name="gate">The gate and where it acts; null for none.</param>
    public CausalSelfAttention(int width, AttentionCore core, bool bias, double? qkNormEps,
        ScalarType dtype = ScalarType.Float32, Device? device = null, GateSpec? gate = null) : base(nameof(CausalSelfAttention))
    {
        if (width < 1)
            throw new ArgumentException($"attention width must be positive, got {width}");
        Width = width;
        Heads = core.Heads;
        KvHeads = core.KvHeads;
        HeadDim = core.HeadDim;

        qkv = nn.Linear(width, (Heads + 2 * KvHeads) * HeadDim, hasBias: bias, device: device, dtype: dtype);
        output = nn.Linear(Heads * HeadDim, width, hasBias: bias, device: device, dtype: dtype);
        register_module("qkv", qkv);
        register_module("output", output);
        if (qkNormEps is { } eps)
        {
            queryNorm = new RmsNorm(HeadDim, eps, dtype, device);
            keyNorm = new RmsNorm(HeadDim, eps, dtype, device);
            register_module("queryNorm", queryNorm);
            register_module("keyNorm", keyNorm);
        }
        this.core = core;
        register_module("core", core);
        if (gate is not null)
        {
            // G2/G3 gate the KV heads' values/keys; G1/G4 the query heads' outputs/queries.
            var gatedHeads = gate.Position is GatePosition.G2 or GatePosition.G3 ? KvHeads : Heads;
            this.gate = new AttentionGate(gate, width, gatedHeads, HeadDim, dtype, device);
            register_module("gate", this.gate);
        }
    }

    /// <summary>RoPE or NoPE attention through SDPA, the common case.</summary>
    public CausalSelfAttention(int width, int heads, int kvHeads, int headDim, bool bias, RotaryEmbedding? rotary,
        double? qkNormEps, ScalarType dtype = ScalarType.Float32, Device? device = null, GateSpec? gate = null)
        : this(width, new DotProductAttentionCore(heads, kvHeads, headDim, rotary), bias, qkNormEps, dtype, device, gate) { }

    public int Width { get; }
    public int Heads { get; }
    public int KvHeads { get; }
    public int HeadDim { get; }
    public AttentionCore Core => core;
    /// <summary>The gate, or null when the layer has none.</summary>
    public AttentionGate? Gate => gate;

    /// <summary>When set, attention is computed with explicit probabilities [B, H, T, S] (query
    /// positions start .. start+T-1, keys 0 .. start+T-1), which are handed to this callback during
    /// the forward pass; the tensor belongs to the caller's dispose scope. Null (the default) uses
    /// the core's fast path.</summary>
    public Action<Tensor>? AttentionCapture { get; set; }

    public override Tensor Forward(Tensor x, LayerCache? cache, long start)
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
        var position = gate?.Spec.Position;
        if (position == GatePosition.G4) q = gate!.Forward(x, q);
        if (position == GatePosition.G3) k = gate!.Forward(x, k);
        if (position == GatePosition.G2) v = gate!.Forward(x, v);
        var attended = core.Attend(x, q, k, v, cache, start, AttentionCapture);
        if (position == GatePosition.G1) attended = gate!.Forward(x, attended);
        var result = output.forward(attended.transpose(1, 2).reshape(batch, length, Heads * HeadDim));
        return position == GatePosition.G5 ? gate!.Forward(x, result) : result;
    }

    /// <summary>A cache in the dtype and on the device the weights have now (they may have been moved since construction).</summary>
    public override LayerCache NewCache(long batch, long capacity) =>
        core.NewCache(batch, capacity, qkv.weight!.dtype, qkv.weight!.device);

    /// <summary>The fused qkv projection is three matrices (q, k, v rows) whose query and key rows
    /// form Heads + KvHeads heads; the output projection writes into the residual stream.</summary>
    public override IEnumerable<ParameterFacts> PublishedParameters =>
    [
        new("qkv.weight")
        {
            RowBlocks = [Heads * HeadDim, KvHeads * HeadDim, KvHeads * HeadDim],
            HeadBlocks = new QueryKeyHeads(Heads + KvHeads, HeadDim),
        },
        new("output.weight") { ResidualOutput = true },
        .. core.PublishedParameters.Select(f => f.Under("core")),
        .. gate.Under("gate"),
    ];

    public override double NonParameterFlopsPerToken(int sequenceLength) => core.NonParameterFlopsPerToken(sequenceLength);

    public override string Kind =>
        $"attention ({Heads} heads{(KvHeads < Heads ? $", {KvHeads} KV heads" : "")}, head dim {HeadDim}, " +
        $"{core.Description}{(queryNorm is null ? "" : ", QK-norm")}{(gate is null ? "" : ", " + gate.Description)})";

    public override string Shape => $"{Width} -> {Width}";
}
