using ModelDsl.Core.Tasks;
using ModelDsl.Runtime.Variants;

namespace ModelDsl.Runtime.Tasks;

/// <summary>
/// Chained modular sums (see <see cref="ChainedArithmetic"/>): <c>a_1 .. a_S '=' answer</c> where the
/// answer is the running sums s_1 .. s_S (chain of thought) or s_S. <see cref="ReferenceSolution"/>
/// gives the step-by-step solution for any problem, also when the model is trained without it.
/// </summary>
[Implements(typeof(ChainedArithmetic))]
public sealed class ChainedArithmeticTask : ITask
{
    private const long TrainingStream = 1, TrainingSetStream = 2, ValidationStream = 3, EvalStream = 4;

    private readonly ChainedArithmetic spec;
    private readonly int seed;
    private readonly long[][]? trainingSet;
    private readonly HashSet<string>? trainingKeys;

    public ChainedArithmeticTask(ChainedArithmetic spec, int seed)
    {
        spec.EnsureValid();
        this.spec = spec;
        this.seed = seed;
        if (spec.TrainingExamples is { } count)
        {
            // Distinct problems, so that the count is the number of different training examples; the
            // validation ensures at most half of all problems, so held-out ones remain.
            trainingSet = new long[count][];
            trainingKeys = [];
            var random = SeededRandom.For(seed, TrainingSetStream);
            for (long i = 0; i < count;)
            {
                var operands = Draw(random);
                if (trainingKeys.Add(Key(operands))) trainingSet[i++] = operands;
            }
        }
    }

    /// <summary>The fixed training problems' operands, or null when every step draws fresh ones.</summary>
    public IReadOnlyList<long[]>? TrainingSet => trainingSet;

    public TaskSpec Spec => spec;
    public int VocabularySize => spec.VocabularySize();
    public int SequenceLength => spec.SequenceLength();
    public int CompletionLength => spec.AnswerLength;

    /// <summary>The running sums s_j = (a_1 + ... + a_j) mod m.</summary>
    public long[] RunningSums(IReadOnlyList<long> operands)
    {
        var sums = new long[operands.Count];
        long sum = 0;
        for (var j = 0; j < operands.Count; j++)
        {
            sum = (sum + operands[j]) % spec.Modulus;
            sums[j] = sum;
        }
        return sums;
    }

    /// <summary>The operands of a problem (its prompt before '=').</summary>
    public long[] Operands(Problem problem) => problem.Prompt[..spec.Steps];

    /// <summary>The reference step-by-step solution of a problem: its running sums.</summary>
    public long[] ReferenceSolution(Problem problem) => RunningSums(Operands(problem));

    /// <summary>The verifiable final answer of a problem.</summary>
    public long FinalAnswer(Problem problem) => ReferenceSolution(problem)[^1];

    public long[] Sequence(IReadOnlyList<long> operands)
    {
        var sums = RunningSums(operands);
        return [.. operands, spec.Separator, .. spec.ChainOfThought ? sums : [sums[^1]]];
    }

    public Batch TrainBatch(long step, int microIndex, int size)
    {
        var random = SeededRandom.For(seed, TrainingStream, step, microIndex);
        return MakeBatch(Enumerable.Range(0, size).Select(_ => trainingSet is null ? Draw(random) : trainingSet[random.NextInt64(trainingSet.Length)]));
    }

    /// <summary>Held-out sequences (outside the training set when there is one).</summary>
    public Batch ValidationBatch(int index, int size)
    {
        var random = SeededRandom.For(seed, ValidationStream, index);
        return MakeBatch(Enumerable.Range(0, size).Select(_ => DrawHeldOut(random)));
    }

    public IReadOnlyList<Problem> EvalProblems(int count)
    {
        var random = SeededRandom.For(seed, EvalStream);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var sequence = Sequence(DrawHeldOut(random));
            return new Problem(sequence[..(spec.Steps + 1)], sequence[(spec.Steps + 1)..]);
        }).ToList();
    }

    /// <summary>Accepts a completion whose last answer token is the final sum s_S.</summary>
    public bool Verify(Problem problem, ReadOnlySpan<long> completion) =>
        completion.Length >= CompletionLength && completion[CompletionLength - 1] == FinalAnswer(problem);

    private Batch MakeBatch(IEnumerable<long[]> operands) =>
        SequenceBatch.NextToken(operands.Select(Sequence).ToList(), (_, t) => t >= spec.Steps);

    private long[] Draw(Random random) => Enumerable.Range(0, spec.Steps).Select(_ => (long)random.Next(spec.Modulus)).ToArray();

    private long[] DrawHeldOut(Random random)
    {
        while (true)
        {
            var operands = Draw(random);
            if (trainingKeys is null || !trainingKeys.Contains(Key(operands))) return operands;
        }
    }

    private static string Key(long[] operands) => string.Join(",", operands);
}
