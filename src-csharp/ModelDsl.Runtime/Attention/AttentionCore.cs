using ModelDsl.Runtime.Parameters;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Attention;

/// <summary>
/// The part of causal self-attention that a position encoding decides: how projected queries and
/// keys become scores, and what the layer caches for decoding. <see cref="CausalSelfAttention"/>
/// owns the projections, QK-norm, gates and the output projection around it, so every encoding
/// (RoPE, none, PaTH, ...) combines with every one of those.
/// </summary>
public abstract class AttentionCore : nn.Module, IPublishesParameters
{
    protected AttentionCore(string name, int heads, int kvHeads, int headDim) : base(name)
    {
        if (heads < 1 || kvHeads < 1 || headDim < 1)
            throw new ArgumentException($"attention sizes must be positive (heads {heads}, kvHeads {kvHeads}, headDim {headDim})");
        if (heads % kvHeads != 0)
            throw new ArgumentException($"kvHeads {kvHeads} does not divide heads {heads}");
        Heads = heads;
        KvHeads = kvHeads;
        HeadDim = headDim;
    }

    public int Heads { get; }
    public int KvHeads { get; }
    public int HeadDim { get; }

    /// <summary>
    /// Attends queries q [B, H, T, D] to keys k and values v [B, KvHeads, T, D] of positions
    /// start .. start+T-1 (earlier positions come from the cache, which is then extended), and
    /// returns the weighted values [B, H, T, D]. x [B, T, width] is the normalised block input,
    /// which data-dependent encodings read. When capture is given, the explicit probabilities
    /// [B, H, T, start+T] are handed to it during the call.
    /// </summary>
    public abstract Tensor Attend(Tensor x, Tensor q, Tensor k, Tensor v, LayerCache? cache, long start, Action<Tensor>? capture);

    public abstract LayerCache NewCache(long batch, long capacity, ScalarType dtype, Device device);

    /// <summary>Training FLOPs per token outside the parameter matmuls, for a sequence of the given length.</summary>
    public abstract double NonParameterFlopsPerToken(int sequenceLength);

    /// <summary>A short phrase for tables, e.g. "RoPE θ=10000".</summary>
    public abstract string Description { get; }

    /// <summary>Facts about this core's parameters (names relative to it); none by default.</summary>
    public virtual IEnumerable<ParameterFacts> PublishedParameters => [];

    /// <summary>Repeats each of the KvHeads heads of t [B, KvHeads, S, D] so query head h reads KV
    /// head h / (heads / KvHeads) (grouped-query attention, Ainslie et al. 2023).</summary>
    protected Tensor RepeatKvHeads(Tensor t) => KvHeads == Heads ? t : t.repeat_interleave(Heads / KvHeads, dim: 1);
}
