using ModelDsl.Core.Tasks;
using static TorchSharp.torch;
using ModelDsl.Runtime.Variants;

namespace ModelDsl.Runtime.Tasks;

/// <summary>
/// Sparse parity Parity(n, k) (PAPERS.md §10). A full example is
/// <c>b_1 .. b_n '=' a_1 .. a_A</c> where the answer is the running XORs c_1 .. c_k over the secret
/// indices (with chain of thought, A = k) or the single label c_k (A = 1). Inputs are the first
/// n + A tokens, targets the last n + A, and the loss counts only where the target is an answer token.
/// </summary>
[Implements(typeof(SparseParity))]
public sealed class SparseParityTask : ITask
{
    // Independent random streams; held-out data never shares a stream with training data.
    private const long TrainingStream = 1, TrainingSetStream = 2, ValidationStream = 3, EvalStream = 4, SecretStream = 5;

    private readonly SparseParity spec;
    private readonly int seed;
    private readonly byte[][]? trainingSet;
    private readonly HashSet<string>? trainingKeys;

    public SparseParityTask(SparseParity spec, int seed)
    {
        spec.EnsureValid();
        this.spec = spec;
        this.seed = seed;
        SecretIndices = spec.SecretIndices is { } given ? given.ToArray() : DrawSecret(spec.Bits, spec.Secret, spec.TaskSeed);
        if (spec.TrainingExamples is { } count)
        {
            // A fixed set is drawn without repetition so that its size is the number of distinct examples,
            // and held-out problems are drawn outside it; both need room in the 2^n inputs.
            var capacity = spec.Bits >= 62 ? double.PositiveInfinity : Math.Pow(2, spec.Bits - 1);
            if (count > capacity)
                throw new ArgumentException(
                    $"task.trainingExamples: {count} exceeds half of the 2^{spec.Bits} possible inputs ({capacity}); " +
                    "held-out problems must come from inputs outside the training set");
            trainingSet = new byte[count][];
            trainingKeys = new HashSet<string>();
            var random = SeededRandom.For(seed, TrainingSetStream);
            for (long i = 0; i < count;)
            {
                var bits = DrawBits(random);
                if (trainingKeys.Add(Key(bits))) trainingSet[i++] = bits;
            }
        }
    }

    public TaskSpec Spec => spec;
    public int VocabularySize => SparseParity.Vocabulary;
    public int SequenceLength => spec.SequenceLength();
    public int CompletionLength => spec.AnswerLength;

    /// <summary>The secret index set S (0-based, increasing).</summary>
    public IReadOnlyList<int> SecretIndices { get; }

    /// <summary>The answer tokens for these bits: running XORs c_1..c_k with chain of thought, else c_k alone.</summary>
    public long[] Answer(ReadOnlySpan<byte> bits)
    {
        var running = new long[SecretIndices.Count];
        var parity = 0;
        for (var j = 0; j < SecretIndices.Count; j++)
        {
            parity ^= bits[SecretIndices[j]];
            running[j] = parity == 1 ? SparseParity.One : SparseParity.Zero;
        }
        return spec.ChainOfThought ? running : [running[^1]];
    }

    /// <summary>The whole example: n bit tokens, '=', then the answer tokens.</summary>
    public long[] Sequence(ReadOnlySpan<byte> bits)
    {
        var sequence = new long[spec.Bits + 1 + CompletionLength];
        for (var i = 0; i < spec.Bits; i++) sequence[i] = bits[i] == 1 ? SparseParity.One : SparseParity.Zero;
        sequence[spec.Bits] = SparseParity.Separator;
        Answer(bits).CopyTo(sequence, spec.Bits + 1);
        return sequence;
    }

    public Batch TrainBatch(long step, int microIndex, int size)
    {
        var random = SeededRandom.For(seed, TrainingStream, step, microIndex);
        var examples = new byte[size][];
        for (var b = 0; b < size; b++)
            examples[b] = trainingSet is null ? DrawBits(random) : trainingSet[random.NextInt64(trainingSet.Length)];
        return MakeBatch(examples);
    }

    public Batch ValidationBatch(int index, int size)
    {
        var random = SeededRandom.For(seed, ValidationStream, index);
        return MakeBatch(Enumerable.Range(0, size).Select(_ => DrawHeldOut(random)).ToArray());
    }

    public IReadOnlyList<Problem> EvalProblems(int count)
    {
        var random = SeededRandom.For(seed, EvalStream);
        var problems = new Problem[count];
        for (var i = 0; i < count; i++)
        {
            var sequence = Sequence(DrawHeldOut(random));
            problems[i] = new Problem(sequence[..(spec.Bits + 1)], sequence[(spec.Bits + 1)..]);
        }
        return problems;
    }

    /// <summary>Accepts a completion whose final answer token (c_k, the label) is right; intermediate
    /// chain-of-thought tokens are not checked (see <see cref="VerifyChainOfThought"/>).</summary>
    public bool Verify(Problem problem, ReadOnlySpan<long> completion) =>
        completion.Length >= CompletionLength && completion[CompletionLength - 1] == problem.ReferenceCompletion[CompletionLength - 1];

    /// <summary>Accepts only a completion whose every answer token (the whole chain of thought) is right.</summary>
    public bool VerifyChainOfThought(Problem problem, ReadOnlySpan<long> completion) =>
        completion.Length >= CompletionLength && completion[..CompletionLength].SequenceEqual(problem.ReferenceCompletion);

    private Batch MakeBatch(byte[][] examples)
    {
        int size = examples.Length, length = SequenceLength;
        var inputs = new long[size * length];
        var targets = new long[size * length];
        var mask = new float[size * length];
        for (var b = 0; b < size; b++)
        {
            var sequence = Sequence(examples[b]);
            Array.Copy(sequence, 0, inputs, b * length, length);
            Array.Copy(sequence, 1, targets, b * length, length);
            // Target position t predicts sequence[t + 1]; the answer starts at sequence index n + 1.
            for (var t = spec.Bits; t < length; t++) mask[b * length + t] = 1f;
        }
        return new Batch(
            tensor(inputs, [size, length], ScalarType.Int64),
            tensor(targets, [size, length], ScalarType.Int64),
            tensor(mask, [size, length], ScalarType.Float32));
    }

    private byte[] DrawBits(Random random)
    {
        var bits = new byte[spec.Bits];
        for (var i = 0; i < bits.Length; i++) bits[i] = (byte)random.Next(2);
        return bits;
    }

    private byte[] DrawHeldOut(Random random)
    {
        while (true)
        {
            var bits = DrawBits(random);
            if (trainingKeys is null || !trainingKeys.Contains(Key(bits))) return bits;
        }
    }

    private static string Key(byte[] bits) => Convert.ToHexString(bits);

    private static int[] DrawSecret(int bits, int secret, int taskSeed)
    {
        // Partial Fisher-Yates: the first `secret` entries of a random permutation of 0..n-1.
        var random = SeededRandom.For(taskSeed, SecretStream);
        var indices = Enumerable.Range(0, bits).ToArray();
        for (var i = 0; i < secret; i++)
        {
            var j = i + random.Next(bits - i);
            (indices[i], indices[j]) = (indices[j], indices[i]);
        }
        var chosen = indices[..secret];
        Array.Sort(chosen);
        return chosen;
    }
}
