using ModelDsl.Core.Variants;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Tasks;

/// <summary>
/// Compositional task generalisation with in-context learning (PAPERS.md §8, arXiv 2502.08991).
/// A task is a secret index set S of size k out of n bits (Parity(n, k) has C(n, k) tasks). The
/// C(n, k) tasks are split by <see cref="SplitSeed"/> into <see cref="TrainingTasks"/> training tasks
/// and the held-out rest; training sequences use training tasks only, validation and accuracy use
/// held-out tasks only. A sequence holds Demonstrations examples of one task, then a query:
/// <c>x_1 '=' a_1 ';' ... x_m '=' a_m ';' x_q '=' a_q</c> where a is the running XORs c_1..c_k
/// (chain of thought) or the label c_k alone. The loss counts every answer token.
/// </summary>
[Kind("parityInContext")]
public sealed record ParityInContext : TaskSpec
{
    public const int Zero = 0, One = 1, Separator = 2, ExampleSeparator = 3;
    public const int Vocabulary = 4;
    /// <summary>Enumerating every index set must stay cheap.</summary>
    public const long MaxTasks = 1_000_000;

    public int Bits { get; init; } = 10;
    public int Secret { get; init; } = 2;
    public int Demonstrations { get; init; } = 4;
    public bool ChainOfThought { get; init; } = true;
    public int TrainingTasks { get; init; } = 20;
    /// <summary>Seeds the split of the tasks into training and held-out tasks (and nothing else).</summary>
    public int SplitSeed { get; init; } = 0;

    [System.Text.Json.Serialization.JsonIgnore]
    public int AnswerLength => ChainOfThought ? Secret : 1;

    /// <summary>Tokens of one example: x, '=', the answer.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public int ExampleLength => Bits + 1 + AnswerLength;

    /// <summary>C(n, k), or -1 when it exceeds <see cref="MaxTasks"/>.</summary>
    public long TaskCount()
    {
        if (Secret < 0 || Secret > Bits) return 0;
        long count = 1;
        for (var i = 1; i <= Secret; i++)
        {
            count = count * (Bits - Secret + i) / i;
            if (count > MaxTasks) return -1;
        }
        return count;
    }

    public override int VocabularySize() => Vocabulary;

    // Demonstrations each followed by ';', then the query; the last answer token is only a target.
    public override int SequenceLength() => Demonstrations * (ExampleLength + 1) + ExampleLength - 1;

    public override void Validate(Validator v, string path)
    {
        v.Require(Bits >= 1, $"{path}.bits", $"{Bits} must be at least 1");
        v.Require(Secret >= 1 && Secret <= Bits, $"{path}.secret", $"{Secret} must lie in [1, bits = {Bits}]");
        v.Require(Demonstrations >= 0, $"{path}.demonstrations", $"{Demonstrations} must not be negative");
        if (Secret < 1 || Secret > Bits || Bits < 1) return;
        var tasks = TaskCount();
        if (tasks < 0)
        {
            v.Fail($"{path}.secret", $"C({Bits}, {Secret}) exceeds {MaxTasks} tasks; use fewer bits or a smaller secret");
            return;
        }
        v.Require(TrainingTasks >= 1 && TrainingTasks < tasks, $"{path}.trainingTasks",
            $"{TrainingTasks} must lie in [1, {tasks - 1}]: C({Bits}, {Secret}) = {tasks} tasks, at least one held out");
    }
}
