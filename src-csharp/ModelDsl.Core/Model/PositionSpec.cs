using System.Text.Json.Serialization;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Model;

/// <summary>How attention learns token order. New encodings (e.g. PaTH) are new subclasses.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(Rope), "rope")]
[JsonDerivedType(typeof(NoPosition), "none")]
public abstract record PositionSpec
{
    public virtual void Validate(Validator v, string path, int headDim) { }
}

/// <summary>Rotary position embedding (Su et al.), rotating pairs (i, i + d/2) by angle pos * Theta^(-2i/d).</summary>
public sealed record Rope : PositionSpec
{
    public double Theta { get; init; } = 10000;

    public override void Validate(Validator v, string path, int headDim)
    {
        v.Require(Theta > 1 && double.IsFinite(Theta), $"{path}.theta", $"{Validator.Show(Theta)} must be greater than 1");
        v.Require(headDim % 2 == 0, path, $"RoPE needs an even head dimension, got {headDim}");
    }
}

/// <summary>No position encoding (NoPE): the causal mask alone breaks symmetry.</summary>
public sealed record NoPosition : PositionSpec;
