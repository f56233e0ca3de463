using ModelDsl.Runtime.Parameters;
using TorchSharp;
using static TorchSharp.torch;
using ModelDsl.Runtime.Layers;

namespace ModelDsl.Runtime.Attention;

/// <summary>
/// The token-mixing half of a block: maps [B, T, width] to [B, T, width] looking only backwards.
/// Causal self-attention is one; attention variants with other position schemes or gates are
/// further subclasses, each choosing what it keeps in its cache.
/// </summary>
public abstract class AttentionLayer : nn.Module<Tensor, Tensor>, IDescribable, IPublishesParameters
{
    protected AttentionLayer(string name) : base(name) { }

    /// <summary>Mixes x [B, T, width] whose tokens sit at positions start .. start+T-1. With a cache,
    /// earlier positions come from it and the new ones are appended; without, start must be 0.</summary>
    public abstract Tensor Forward(Tensor x, LayerCache? cache, long start);

    public override Tensor forward(Tensor x) => Forward(x, null, 0);

    public abstract LayerCache NewCache(long batch, long capacity);

    /// <summary>Roles, fused row blocks and residual outputs of this layer's parameters (names relative to it).</summary>
    public abstract IEnumerable<ParameterFacts> PublishedParameters { get; }

    /// <summary>Training FLOPs per token spent outside parameter matmuls (scores and weighted sum)
    /// for a sequence of the given length.</summary>
    public abstract double NonParameterFlopsPerToken(int sequenceLength);

    public abstract string Kind { get; }
    public abstract string Shape { get; }
}
