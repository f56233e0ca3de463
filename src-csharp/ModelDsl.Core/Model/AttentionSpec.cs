using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Model;

/// <summary>
/// Causal multi-head self-attention. Grouped-query attention when KvHeads &lt; Heads (each KV head
/// serves Heads/KvHeads query heads). HeadDim defaults to Width/Heads.
/// </summary>
public sealed record AttentionSpec
{
    public int Heads { get; init; } = 4;
    /// <summary>Number of key/value heads; null means as many as query heads.</summary>
    public int? KvHeads { get; init; }
    /// <summary>Per-head dimension; null means Width / Heads.</summary>
    public int? HeadDim { get; init; }
    public PositionSpec Position { get; init; } = new Rope();
    /// <summary>RMS-normalise queries and keys per head before the dot product.</summary>
    public bool QkNorm { get; init; }
    /// <summary>Biases on the q/k/v/o projections.</summary>
    public bool Bias { get; init; }
    /// <summary>A gate on one of the attention's tensors (arXiv 2505.06708); null means no gate.</summary>
    public GateSpec? Gate { get; init; }

    [System.Text.Json.Serialization.JsonIgnore]
    public int EffectiveKvHeads => KvHeads ?? Heads;
    public int EffectiveHeadDim(int width) => HeadDim ?? (Heads > 0 ? width / Heads : 0);

    public void Validate(Validator v, string path, ModelSpec model)
    {
        v.Require(Heads >= 1, $"{path}.heads", $"{Heads} must be at least 1");
        v.Require(Heads <= SizeLimits.Heads, $"{path}.heads", $"{Heads} is over the limit {SizeLimits.Heads}");
        if (KvHeads is { } kv)
        {
            v.Require(kv >= 1, $"{path}.kvHeads", $"{kv} must be at least 1");
            if (kv >= 1 && Heads >= 1)
                v.Require(Heads % kv == 0, $"{path}.kvHeads", $"{kv} does not divide heads {Heads} (grouped-query attention shares each KV head among an equal number of query heads)");
        }
        if (HeadDim is { } hd)
            v.Require(hd >= 1, $"{path}.headDim", $"{hd} must be at least 1");
        else if (Heads >= 1)
            v.Require(model.Width % Heads == 0, $"{path}.heads", $"{Heads} does not divide width {model.Width} (give headDim explicitly, or choose heads dividing the width)");
        if (Position is null) v.Fail($"{path}.position", "is missing");
        else Position.Validate(v, $"{path}.position", EffectiveHeadDim(model.Width));
        Gate?.Validate(v, $"{path}.gate");
    }
}
