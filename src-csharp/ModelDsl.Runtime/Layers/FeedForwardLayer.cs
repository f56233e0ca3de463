using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Layers;

/// <summary>
/// The per-token half of a block: [B, T, width] to [B, T, width]. Layers that carry a training
/// loss of their own (mixture-of-experts balance) report it through <see cref="AuxiliaryLosses"/>.
/// </summary>
public abstract class FeedForwardLayer : nn.Module<Tensor, Tensor>, IDescribable
{
    protected FeedForwardLayer(string name) : base(name) { }

    public virtual Tensor Forward(Tensor x, AuxiliaryLosses losses) => forward(x);

    /// <summary>Names (relative to this module) of the projections that write into the residual stream.</summary>
    public abstract IEnumerable<string> ResidualOutputWeights { get; }

    /// <summary>Fused weights (names relative to this module) with the row counts of the logical
    /// matrices stacked in them; see <see cref="Compile.NamedParameter.RowBlocks"/>.</summary>
    public virtual IReadOnlyDictionary<string, long[]> FusedRowBlocks { get; } = new Dictionary<string, long[]>();

    public abstract string Kind { get; }
    public abstract string Shape { get; }
}
