using ModelDsl.Core.Tasks;
using ModelDsl.Runtime.Variants;

namespace ModelDsl.Runtime.Tasks;

/// <summary>
/// In-context compositional parity (PAPERS.md §8, see <see cref="ParityInContext"/>). The C(n, k)
/// secret index sets are enumerated in lexicographic order and shuffled by the split seed; the
/// first TrainingTasks are the training tasks, the rest are held out. Training batches draw a
/// training task and fresh inputs per sequence; validation batches and evaluation problems draw
/// held-out tasks, so accuracy measures generalisation to unseen tasks.
/// </summary>
[Implements(typeof(ParityInContext))]
public sealed class ParityInContextTask : ITask
{
    private const long TrainingStream = 1, ValidationStream = 3, EvalStream = 4, SplitStream = 5, TrainingTaskEvalStream = 6;

    private readonly ParityInContext spec;
    private readonly int seed;

    public ParityInContextTask(ParityInContext spec, int seed)
    {
        spec.EnsureValid();
        this.spec = spec;
        this.seed = seed;
        var all = AllSecrets(spec.Bits, spec.Secret);
        var random = SeededRandom.For(spec.SplitSeed, SplitStream);
        for (var i = all.Count - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (all[i], all[j]) = (all[j], all[i]);
        }
        TrainingTaskSets = all.Take(spec.TrainingTasks).ToArray();
        HeldOutTaskSets = all.Skip(spec.TrainingTasks).ToArray();
    }

    public TaskSpec Spec => spec;
    public int VocabularySize => ParityInContext.Vocabulary;
    public int SequenceLength => spec.SequenceLength();
    public int CompletionLength => spec.AnswerLength;

    /// <summary>Secret index sets (0-based, increasing) of the training tasks.</summary>
    public IReadOnlyList<int[]> TrainingTaskSets { get; }
    /// <summary>Secret index sets of the held-out tasks; disjoint from the training ones.</summary>
    public IReadOnlyList<int[]> HeldOutTaskSets { get; }

    /// <summary>The answer tokens for one input under secret S: running XORs with chain of thought, else the label.</summary>
    public long[] Answer(ReadOnlySpan<byte> bits, IReadOnlyList<int> secret)
    {
        var running = new long[secret.Count];
        var parity = 0;
        for (var j = 0; j < secret.Count; j++)
        {
            parity ^= bits[secret[j]];
            running[j] = parity;
        }
        return spec.ChainOfThought ? running : [running[^1]];
    }

    /// <summary>The whole sequence for one task: demonstrations then the query, every answer written out.</summary>
    public long[] Sequence(IReadOnlyList<byte[]> inputs, IReadOnlyList<int> secret)
    {
        if (inputs.Count != spec.Demonstrations + 1)
            throw new ArgumentException($"a sequence holds {spec.Demonstrations + 1} inputs (demonstrations and query), got {inputs.Count}");
        var sequence = new List<long>(SequenceLength + 1);
        for (var e = 0; e < inputs.Count; e++)
        {
            if (e > 0) sequence.Add(ParityInContext.ExampleSeparator);
            foreach (var bit in inputs[e]) sequence.Add(bit);
            sequence.Add(ParityInContext.Separator);
            sequence.AddRange(Answer(inputs[e], secret));
        }
        return sequence.ToArray();
    }

    public Batch TrainBatch(long step, int microIndex, int size) =>
        MakeBatch(SeededRandom.For(seed, TrainingStream, step, microIndex), TrainingTaskSets, size);

    public Batch ValidationBatch(int index, int size) =>
        MakeBatch(SeededRandom.For(seed, ValidationStream, index), HeldOutTaskSets, size);

    public IReadOnlyList<Problem> EvalProblems(int count) => ProblemsWithSecrets(count, heldOut: true).Select(p => p.Problem).ToList();

    /// <summary>Problems with the secret each was drawn from: from held-out tasks, or (for
    /// in-distribution accuracy) from training tasks with fresh inputs.</summary>
    public IReadOnlyList<(Problem Problem, int[] Secret)> ProblemsWithSecrets(int count, bool heldOut)
    {
        var random = SeededRandom.For(seed, heldOut ? EvalStream : TrainingTaskEvalStream);
        var tasks = heldOut ? HeldOutTaskSets : TrainingTaskSets;
        var promptLength = spec.Demonstrations * (spec.ExampleLength + 1) + spec.Bits + 1;
        var problems = new List<(Problem, int[])>(count);
        for (var i = 0; i < count; i++)
        {
            var secret = tasks[random.Next(tasks.Count)];
            var sequence = Sequence(DrawInputs(random), secret);
            problems.Add((new Problem(sequence[..promptLength], sequence[promptLength..]), secret));
        }
        return problems;
    }

    /// <summary>Accepts a completion whose final answer token (the query's label) is right.</summary>
    public bool Verify(Problem problem, ReadOnlySpan<long> completion) =>
        completion.Length >= CompletionLength && completion[CompletionLength - 1] == problem.ReferenceCompletion[CompletionLength - 1];

    private Batch MakeBatch(Random random, IReadOnlyList<int[]> tasks, int size)
    {
        var sequences = new long[size][];
        for (var b = 0; b < size; b++)
        {
            var secret = tasks[random.Next(tasks.Count)];
            sequences[b] = Sequence(DrawInputs(random), secret);
        }
        // Every example occupies ExampleLength + 1 tokens (with its ';'); its answer sits at offsets n+1 .. n+A.
        var period = spec.ExampleLength + 1;
        return SequenceBatch.NextToken(sequences, (_, t) =>
        {
            var offset = (t + 1) % period;
            return offset > spec.Bits && offset <= spec.Bits + spec.AnswerLength;
        });
    }

    private byte[][] DrawInputs(Random random)
    {
        var inputs = new byte[spec.Demonstrations + 1][];
        for (var e = 0; e < inputs.Length; e++)
        {
            inputs[e] = new byte[spec.Bits];
            for (var i = 0; i < spec.Bits; i++) inputs[e][i] = (byte)random.Next(2);
        }
        return inputs;
    }

    /// <summary>Every k-subset of 0..n-1 in lexicographic order.</summary>
    private static List<int[]> AllSecrets(int n, int k)
    {
        var result = new List<int[]>();
        var current = Enumerable.Range(0, k).ToArray();
        while (true)
        {
            result.Add((int[])current.Clone());
            var i = k - 1;
            while (i >= 0 && current[i] == n - k + i) i--;
            if (i < 0) return result;
            current[i]++;
            for (var j = i + 1; j < k; j++) current[j] = current[j - 1] + 1;
        }
    }
}
