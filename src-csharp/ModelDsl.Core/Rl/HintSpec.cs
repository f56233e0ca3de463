using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Rl;

/// <summary>One stage of the hint curriculum: hints of this fraction for this many RL steps.</summary>
public sealed record HintStage(double Fraction, long Steps)
{
    public void Validate(Validator v, string path)
    {
        v.Fraction(Fraction, $"{path}.fraction");
        v.Require(Steps >= 1, $"{path}.steps", $"{Steps} must be at least 1");
    }
}

/// <summary>
/// QuestA's partial-solution hints (arXiv 2507.13266, PAPERS.md §2): a training prompt is followed by
/// the first p of its reference solution, floor(p * length) tokens. No hint is given when that prefix
/// is shorter than MinPrefixTokens (QuestA omits hints under 10 characters). With a Curriculum, stage
/// k's fraction holds for its steps, one stage after another (QuestA: 50%, then 25%), and the last
/// stage's fraction holds after the curriculum ends; without one, Fraction holds throughout.
/// Evaluation prompts never carry a hint.
/// </summary>
public sealed record HintSpec
{
    /// <summary>0.5: QuestA's first stage.</summary>
    public double Fraction { get; init; } = 0.5;
    /// <summary>1: any non-empty prefix is a hint (QuestA's cut-off is 10 characters of text).</summary>
    public int MinPrefixTokens { get; init; } = 1;
    /// <summary>Stages replacing Fraction; null or empty: Fraction throughout.</summary>
    public ValueList<HintStage>? Curriculum { get; init; }

    public void Validate(Validator v, string path)
    {
        v.Fraction(Fraction, $"{path}.fraction");
        v.Require(MinPrefixTokens >= 1, $"{path}.minPrefixTokens", $"{MinPrefixTokens} must be at least 1");
        if (Curriculum is { } stages)
            for (var i = 0; i < stages.Count; i++)
            {
                if (stages[i] is null) v.Fail($"{path}.curriculum[{i}]", "is missing");
                else stages[i].Validate(v, $"{path}.curriculum[{i}]");
            }
    }

    /// <summary>The hint fraction at RL step <paramref name="step"/> (0-based).</summary>
    public double FractionAt(long step)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, "must be zero or positive");
        if (Curriculum is not { Count: > 0 } stages) return Fraction;
        long end = 0;
        foreach (var stage in stages)
        {
            end += stage.Steps;
            if (step < end) return stage.Fraction;
        }
        return stages[^1].Fraction;
    }

    /// <summary>Hint length in tokens for a reference solution of <paramref name="solutionLength"/> tokens at this fraction: 0 when under the minimum.</summary>
    public int PrefixLength(int solutionLength, double fraction)
    {
        var length = (int)Math.Floor(fraction * solutionLength + 1e-9);
        length = Math.Min(length, solutionLength);
        return length >= MinPrefixTokens ? length : 0;
    }
}
