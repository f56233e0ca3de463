using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Vision;

/// <summary>The attribute in which the two scenes of a minimal visual contrast pair differ.</summary>
public enum ContrastKind
{
    /// <summary>The objects' colour.</summary>
    Color,
    /// <summary>Top versus bottom: the same objects translated vertically.</summary>
    Position,
    /// <summary>The number of objects: objects added or removed, the others unchanged.</summary>
    Count,
    /// <summary>Left versus right: the mirror image.</summary>
    Flip,
}

/// <summary>
/// Procedural 32x32 RGB scenes of one group of identical objects (shape, colour, size, position,
/// count), captioned and questioned from templates. A language prior skews colour given shape:
/// with probability PriorStrength an object takes its shape's typical colour (circles red, squares
/// blue, triangles green), otherwise a colour drawn uniformly from all four, so a text-only model
/// guesses colours well and fails on the exceptions. A HeldOutFraction of attribute combinations is
/// reserved for evaluation (never drawn as training scenes).
/// </summary>
public sealed record SceneTaskSpec
{
    public double PriorStrength { get; init; } = 0.8;
    public double HeldOutFraction { get; init; } = 0.2;
    /// <summary>The kinds of contrast pairs drawn, uniformly.</summary>
    public ValueList<ContrastKind> ContrastKinds { get; init; } =
        new[] { ContrastKind.Color, ContrastKind.Position, ContrastKind.Count, ContrastKind.Flip };

    public void Validate(Validator v, string path)
    {
        v.Fraction(PriorStrength, $"{path}.priorStrength");
        v.Fraction(HeldOutFraction, $"{path}.heldOutFraction", allowOne: false);
        if (ContrastKinds is null || ContrastKinds.Count == 0) v.Fail($"{path}.contrastKinds", "needs at least one kind");
        else
            for (var i = 0; i < ContrastKinds.Count; i++)
                v.Require(Enum.IsDefined(ContrastKinds[i]), $"{path}.contrastKinds[{i}]", $"{ContrastKinds[i]} is not a known contrast kind");
    }
}
