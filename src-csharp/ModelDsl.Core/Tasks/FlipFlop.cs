using ModelDsl.Core.Variants;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Tasks;

/// <summary>
/// Flip-flop language (Liu et al. 2023, "Exposing attention glitches with flip-flop language
/// modeling"): a sequence of (instruction, bit) pairs with instructions write, ignore and read; the
/// first is a write and the last a read, and the bit after every read must equal the bit of the
/// most recent write. The loss counts only those bits. Instructions other than the first and last
/// are ignore with probability IgnoreProbability, else write or read with equal probability.
/// Training uses Pairs pairs, held-out sequences EvalPairs (length generalisation when longer).
/// </summary>
[Kind("flipFlop")]
public sealed record FlipFlop : TaskSpec
{
    public const int Zero = 0, One = 1, Write = 2, Read = 3, Ignore = 4;
    public const int Vocabulary = 5;

    public int Pairs { get; init; } = 32;
    /// <summary>Held-out number of pairs; null means the training number.</summary>
    public int? EvalPairs { get; init; }
    public double IgnoreProbability { get; init; } = 0.8;

    public override int VocabularySize() => Vocabulary;
    // 2 tokens per pair; the last bit is only a target.
    public override int SequenceLength() => 2 * Pairs - 1;
    public override int EvalSequenceLength() => 2 * (EvalPairs ?? Pairs) - 1;

    public override void Validate(Validator v, string path)
    {
        v.Require(Pairs >= 2, $"{path}.pairs", $"{Pairs} must be at least 2 (a write, then a read)");
        if (EvalPairs is { } e) v.Require(e >= 2, $"{path}.evalPairs", $"{e} must be at least 2 (a write, then a read)");
        v.Require(IgnoreProbability >= 0 && IgnoreProbability < 1, $"{path}.ignoreProbability",
            $"{IgnoreProbability} must lie in [0, 1)");
    }
}
