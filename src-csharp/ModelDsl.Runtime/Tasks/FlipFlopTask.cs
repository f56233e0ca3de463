using ModelDsl.Core.Tasks;
using ModelDsl.Runtime.Variants;

namespace ModelDsl.Runtime.Tasks;

/// <summary>
/// Flip-flop language (see <see cref="FlipFlop"/>). Tokens alternate instruction, bit; the loss
/// counts the bits that follow a read. Evaluation problems end with the final read: the completion
/// is one token, the most recently written bit. Training uses Pairs pairs, held-out data EvalPairs.
/// </summary>
[Implements(typeof(FlipFlop))]
public sealed class FlipFlopTask : ITask
{
    private const long TrainingStream = 1, ValidationStream = 3, EvalStream = 4;

    private readonly FlipFlop spec;
    private readonly int seed;

    public FlipFlopTask(FlipFlop spec, int seed)
    {
        spec.EnsureValid();
        this.spec = spec;
        this.seed = seed;
    }

    public TaskSpec Spec => spec;
    public int VocabularySize => FlipFlop.Vocabulary;
    public int SequenceLength => spec.SequenceLength();
    public int EvalSequenceLength => spec.EvalSequenceLength();
    public int CompletionLength => 1;

    /// <summary>A random sequence of the given number of pairs: write first, read last, reads return the last write.</summary>
    public long[] Draw(Random random, int pairs)
    {
        var sequence = new long[2 * pairs];
        long memory = 0;
        for (var p = 0; p < pairs; p++)
        {
            long instruction = p == 0 ? FlipFlop.Write
                : p == pairs - 1 ? FlipFlop.Read
                : random.NextDouble() < spec.IgnoreProbability ? FlipFlop.Ignore
                : random.Next(2) == 0 ? FlipFlop.Write : FlipFlop.Read;
            long bit = instruction == FlipFlop.Read ? memory : random.Next(2);
            if (instruction == FlipFlop.Write) memory = bit;
            sequence[2 * p] = instruction;
            sequence[2 * p + 1] = bit;
        }
        return sequence;
    }

    public Batch TrainBatch(long step, int microIndex, int size) =>
        MakeBatch(SeededRandom.For(seed, TrainingStream, step, microIndex), size, spec.Pairs);

    public Batch ValidationBatch(int index, int size) =>
        MakeBatch(SeededRandom.For(seed, ValidationStream, index), size, spec.EvalPairs ?? spec.Pairs);

    public IReadOnlyList<Problem> EvalProblems(int count)
    {
        var random = SeededRandom.For(seed, EvalStream);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var sequence = Draw(random, spec.EvalPairs ?? spec.Pairs);
            return new Problem(sequence[..^1], [sequence[^1]]);
        }).ToList();
    }

    public bool Verify(Problem problem, ReadOnlySpan<long> completion) =>
        completion.Length >= 1 && completion[0] == problem.ReferenceCompletion[0];

    private Batch MakeBatch(Random random, int size, int pairs) =>
        SequenceBatch.NextToken(Enumerable.Range(0, size).Select(_ => Draw(random, pairs)).ToList(),
            (sequence, t) => sequence[t] == FlipFlop.Read && t % 2 == 0);
}
