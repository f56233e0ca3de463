namespace ModelDsl.Runtime.Parameters;

/// <summary>
/// A trainable parameter with its module path (e.g. "blocks.0.attention.qkv.weight") and role.
/// RowBlocks describes a fused weight: the row counts of the logical matrices stacked in it (q, k,
/// v for a fused qkv projection; gate, up for SwiGLU). Matrix optimizers (Muon, Scion) treat each
/// block as its own matrix, as they would the unfused layers; null means one matrix.
/// </summary>
public sealed record NamedParameter(string Name, TorchSharp.Modules.Parameter Parameter, ParameterRole Role,
    IReadOnlyList<long>? RowBlocks = null)
{
    /// <summary>Query and key heads at the top of a fused attention projection (Adam-mini's per-head blocks); null elsewhere.</summary>
    public QueryKeyHeads? HeadBlocks { get; init; }
    /// <summary>Writes into the residual stream (its initialisation is scaled down with depth, GPT-2 §2.3).</summary>
    public bool ResidualOutput { get; init; }
}

/// <summary>Query/key heads at the top of a fused attention projection: Heads blocks of HeadDim rows each.</summary>
public sealed record QueryKeyHeads(long Heads, long HeadDim);

/// <summary>One row of a model summary: module path, what it is, its shape, its parameter count.</summary>
public sealed record LayerRow(string Name, string Kind, string Shape, long Parameters);
