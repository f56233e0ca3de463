using ModelDsl.Core.Variants;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Tasks;

/// <summary>
/// Chained arithmetic with a verifiable answer: operands a_1 .. a_S in [0, m), the answer is the
/// running sum s_S = (a_1 + ... + a_S) mod m. The reference step-by-step solution is the running
/// sums s_1 .. s_S; with chain of thought the model writes them all, else only s_S. Steps is the
/// difficulty knob. Tokens: values 0 .. m-1, then '=' (id m). Sequence: a_1 .. a_S '=' answer.
/// The loss counts the answer tokens only.
/// </summary>
[Kind("chainedArithmetic")]
public sealed record ChainedArithmetic : TaskSpec
{
    public const int MaxModulus = 1000;

    public int Modulus { get; init; } = 10;
    public int Steps { get; init; } = 4;
    public bool ChainOfThought { get; init; } = true;
    /// <summary>Size of a fixed training set of distinct problems (held-out problems are drawn outside
    /// it); null draws fresh problems at every step. A finite set lets supervised training overfit.
    /// Left out of the JSON when null, so that specs (and the runs that store them) written before it stay the same.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public long? TrainingExamples { get; init; }

    [System.Text.Json.Serialization.JsonIgnore]
    public int Separator => Modulus;
    [System.Text.Json.Serialization.JsonIgnore]
    public int AnswerLength => ChainOfThought ? Steps : 1;

    public override int VocabularySize() => Modulus + 1;
    public override int SequenceLength() => Steps + AnswerLength;

    public override void Validate(Validator v, string path)
    {
        v.Require(Modulus >= 2 && Modulus <= MaxModulus, $"{path}.modulus", $"{Modulus} must lie in [2, {MaxModulus}]");
        v.Require(Steps >= 1, $"{path}.steps", $"{Steps} must be at least 1");
        if (TrainingExamples is { } n)
        {
            var problems = Math.Pow(Modulus, Steps);
            v.Require(n >= 1 && n <= problems / 2, $"{path}.trainingExamples",
                $"{n} must lie in [1, half of the {Modulus}^{Steps} = {problems} possible problems], so that held-out problems exist outside it");
        }
    }
}
