using ModelDsl.Core.Tasks;
using ModelDsl.Core.Validation;
using ModelDsl.Core.Variants;

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
/// As the task of a vision experiment (<see cref="ExperimentSpec.Vision"/>) a training example is a
/// scene's image with its caption ("&lt;bos&gt; describe : two large red circle at left &lt;eos&gt;") or,
/// with probability QuestionFraction, one of five questions about it answered by one word
/// ("&lt;bos&gt; what color ? red &lt;eos&gt;"); the loss counts the response tokens only.
/// </summary>
[Kind("scenes")]
public sealed record SceneTaskSpec : TaskSpec
{
    /// <summary>Tokens of the scene vocabulary (one per word of the captions and questions).</summary>
    public const int Vocabulary = 30;
    /// <summary>Tokens of a caption example, the longest: "&lt;bos&gt; describe :" and seven response tokens.</summary>
    public const int CaptionTokens = 10;

    public double PriorStrength { get; init; } = 0.8;
    public double HeldOutFraction { get; init; } = 0.2;
    /// <summary>The kinds of contrast pairs drawn, uniformly.</summary>
    public ValueList<ContrastKind> ContrastKinds { get; init; } =
        new[] { ContrastKind.Color, ContrastKind.Position, ContrastKind.Count, ContrastKind.Flip };
    /// <summary>Share of training examples that are a question with a one-word answer rather than a caption.</summary>
    public double QuestionFraction { get; init; } = 0.5;
    /// <summary>Every n-th training step shows the texts without their images (0: never), so that the
    /// model also learns the text-only distribution p(T|0) that S-VCO contrasts against.</summary>
    public int TextOnlyEvery { get; init; } = 4;

    public override int VocabularySize() => Vocabulary;

    /// <summary>Inputs hold a caption example but its last token (shorter question examples are padded).</summary>
    public override int SequenceLength() => CaptionTokens - 1;

    public override void Validate(Validator v, string path)
    {
        v.Fraction(PriorStrength, $"{path}.priorStrength");
        v.Fraction(HeldOutFraction, $"{path}.heldOutFraction", allowOne: false);
        if (ContrastKinds is null || ContrastKinds.Count == 0) v.Fail($"{path}.contrastKinds", "needs at least one kind");
        else
            for (var i = 0; i < ContrastKinds.Count; i++)
                v.Require(Enum.IsDefined(ContrastKinds[i]), $"{path}.contrastKinds[{i}]", $"{ContrastKinds[i]} is not a known contrast kind");
        v.Fraction(QuestionFraction, $"{path}.questionFraction");
        v.Require(TextOnlyEvery >= 0, $"{path}.textOnlyEvery", $"{TextOnlyEvery} must be zero or positive");
    }
}
