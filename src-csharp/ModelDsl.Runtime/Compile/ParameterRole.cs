namespace ModelDsl.Runtime.Compile;

/// <summary>
/// What a parameter is for, which decides how optimizers treat it (Muon orthogonalises hidden
/// matrices only; weight decay usually skips norms and biases; Adam-mini groups by role).
/// </summary>
public enum ParameterRole
{
    /// <summary>Every matrix inside the blocks (q/k/v/o projections, feed-forward).</summary>
    HiddenMatrix,
    /// <summary>The token embedding (also the output head when tied).</summary>
    Embedding,
    /// <summary>An untied output matrix.</summary>
    Head,
    /// <summary>Norm gains.</summary>
    Norm,
    Bias,
}

/// <summary>
/// A trainable parameter with its module path (e.g. "blocks.0.attention.qkv.weight") and role.
/// RowBlocks describes a fused weight: the row counts of the logical matrices stacked in it (q, k,
/// v for a fused qkv projection; gate, up for SwiGLU). Matrix optimizers (Muon, Scion) treat each
/// block as its own matrix, as they would the unfused layers; null means one matrix.
/// </summary>
public sealed record NamedParameter(string Name, TorchSharp.Modules.Parameter Parameter, ParameterRole Role,
    IReadOnlyList<long>? RowBlocks = null);

/// <summary>One row of a model summary: module path, what it is, its shape, its parameter count.</summary>
public sealed record LayerRow(string Name, string Kind, string Shape, long Parameters);
