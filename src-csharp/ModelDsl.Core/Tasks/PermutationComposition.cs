using ModelDsl.Core.Variants;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Tasks;

/// <summary>
/// The word problem of the symmetric group S_n (state tracking; S5 is the hard case, PAPERS.md §3):
/// the input is a sequence of permutations g_1 .. g_L, and at every position t the target is the
/// composition p_t = g_t o ... o g_1 (the state after t steps). Each permutation is one token, its
/// rank in lexicographic order, so the vocabulary is n!. Unlike next-token tasks the targets are
/// these states, not the shifted inputs; the loss counts every position. Training uses Length,
/// held-out sequences EvalLength (length generalisation when longer).
/// </summary>
[Kind("permutationComposition")]
public sealed record PermutationComposition : TaskSpec
{
    public const int MaxElements = 6;

    public int Elements { get; init; } = 5;
    public int Length { get; init; } = 16;
    /// <summary>Held-out length; null means the training length.</summary>
    public int? EvalLength { get; init; }

    public override int VocabularySize() => Factorial(Elements);
    public override int SequenceLength() => Length;
    public override int EvalSequenceLength() => EvalLength ?? Length;

    public static int Factorial(int n)
    {
        var result = 1;
        for (var i = 2; i <= n; i++) result *= i;
        return result;
    }

    public override void Validate(Validator v, string path)
    {
        v.Require(Elements >= 2 && Elements <= MaxElements, $"{path}.elements", $"{Elements} must lie in [2, {MaxElements}]");
        v.Require(Length >= 1, $"{path}.length", $"{Length} must be at least 1");
        if (EvalLength is { } e) v.Require(e >= 1, $"{path}.evalLength", $"{e} must be at least 1");
    }
}
