using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Layers;

/// <summary>
/// The token-mixing half of a block: maps [B, T, width] to [B, T, width] looking only backwards.
/// Causal self-attention is one; attention variants with other position schemes or gates are
/// further subclasses, each choosing what it keeps in its cache.
/// </summary>
public abstract class SequenceMixer : nn.Module<Tensor, Tensor>, IDescribable
{
    protected SequenceMixer(string name) : base(name) { }

    /// <summary>Mixes x [B, T, width] whose tokens sit at positions start .. start+T-1. With a cache,
    /// earlier positions come from it and the new ones are appended; without, start must be 0.</summary>
    public abstract Tensor Forward(Tensor x, MixerCache? cache, long start);

    public override Tensor forward(Tensor x) => Forward(x, null, 0);

    public abstract MixerCache NewCache(long batch, long capacity);

    /// <summary>Names (relative to this module) of the projections that write into the residual
    /// stream; their initialisation is scaled down with depth (GPT-2 §2.3).</summary>
    public abstract IEnumerable<string> ResidualOutputWeights { get; }

    /// <summary>Fused weights (names relative to this module) with the row counts of the logical
    /// matrices stacked in them; see <see cref="Compile.NamedParameter.RowBlocks"/>.</summary>
    public virtual IReadOnlyDictionary<string, long[]> FusedRowBlocks { get; } = new Dictionary<string, long[]>();

    /// <summary>Training FLOPs per token spent outside parameter matmuls (scores and weighted sum)
    /// for a sequence of the given length.</summary>
    public abstract double NonParameterFlopsPerToken(int sequenceLength);

    public abstract string Kind { get; }
    public abstract string Shape { get; }
}
