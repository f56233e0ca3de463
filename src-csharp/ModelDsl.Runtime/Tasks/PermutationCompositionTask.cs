using ModelDsl.Core.Tasks;
using static TorchSharp.torch;
using ModelDsl.Runtime.Variants;

namespace ModelDsl.Runtime.Tasks;

/// <summary>
/// The S_n word problem (see <see cref="PermutationComposition"/>). A tagging task: Inputs are the
/// permutations g_1 .. g_T and Targets the states p_t = g_t o p_(t-1) (p_0 the identity), so the
/// logits at position t predict the state after t + 1 steps and greedy generation of one token after
/// a prompt g_1 .. g_L yields the model's final state p_L, which <see cref="Verify"/> checks.
/// Training sequences have Length permutations; validation and evaluation ones EvalLength.
/// </summary>
[Implements(typeof(PermutationComposition))]
public sealed class PermutationCompositionTask : ITask
{
    private const long TrainingStream = 1, ValidationStream = 3, EvalStream = 4;

    private readonly PermutationComposition spec;
    private readonly int seed;
    private readonly int[][] permutations;
    private readonly int[,] compose;

    public PermutationCompositionTask(PermutationComposition spec, int seed)
    {
        spec.EnsureValid();
        this.spec = spec;
        this.seed = seed;
        permutations = LexicographicPermutations(spec.Elements);
        var rank = new Dictionary<string, int>();
        for (var i = 0; i < permutations.Length; i++) rank[Key(permutations[i])] = i;
        compose = new int[permutations.Length, permutations.Length];
        for (var g = 0; g < permutations.Length; g++)
            for (var p = 0; p < permutations.Length; p++)
                compose[g, p] = rank[Key(Compose(permutations[g], permutations[p]))];
        Identity = rank[Key(Enumerable.Range(0, spec.Elements).ToArray())];
    }

    public TaskSpec Spec => spec;
    public int VocabularySize => permutations.Length;
    public int SequenceLength => spec.SequenceLength();
    public int EvalSequenceLength => spec.EvalSequenceLength();
    public int CompletionLength => 1;

    /// <summary>Token of the identity permutation.</summary>
    public int Identity { get; }

    /// <summary>The permutation a token stands for: element i maps to result[i].</summary>
    public IReadOnlyList<int> Permutation(int token) => permutations[token];

    /// <summary>(g o p)(i) = g(p(i)): apply p first.</summary>
    public static int[] Compose(IReadOnlyList<int> g, IReadOnlyList<int> p) => p.Select(x => g[x]).ToArray();

    /// <summary>The states p_1 .. p_T after each step.</summary>
    public long[] States(IReadOnlyList<long> tokens)
    {
        var states = new long[tokens.Count];
        var state = Identity;
        for (var t = 0; t < tokens.Count; t++)
        {
            state = compose[(int)tokens[t], state];
            states[t] = state;
        }
        return states;
    }

    public Batch TrainBatch(long step, int microIndex, int size) =>
        MakeBatch(SeededRandom.For(seed, TrainingStream, step, microIndex), size, SequenceLength);

    public Batch ValidationBatch(int index, int size) =>
        MakeBatch(SeededRandom.For(seed, ValidationStream, index), size, EvalSequenceLength);

    public IReadOnlyList<Problem> EvalProblems(int count)
    {
        var random = SeededRandom.For(seed, EvalStream);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var tokens = Draw(random, EvalSequenceLength);
            return new Problem(tokens, [States(tokens)[^1]]);
        }).ToList();
    }

    /// <summary>Accepts a completion whose first token is the final state p_L.</summary>
    public bool Verify(Problem problem, ReadOnlySpan<long> completion) =>
        completion.Length >= 1 && completion[0] == problem.ReferenceCompletion[0];

    private Batch MakeBatch(Random random, int size, int length)
    {
        var inputs = new long[size * length];
        var targets = new long[size * length];
        for (var b = 0; b < size; b++)
        {
            var tokens = Draw(random, length);
            Array.Copy(tokens, 0, inputs, b * length, length);
            Array.Copy(States(tokens), 0, targets, b * length, length);
        }
        return new Batch(tensor(inputs, [size, length], ScalarType.Int64), tensor(targets, [size, length], ScalarType.Int64),
            ones(size, length, ScalarType.Float32));
    }

    private long[] Draw(Random random, int length) =>
        Enumerable.Range(0, length).Select(_ => (long)random.Next(permutations.Length)).ToArray();

    private static string Key(IReadOnlyList<int> permutation) => string.Join(",", permutation);

    private static int[][] LexicographicPermutations(int n)
    {
        var result = new List<int[]>();
        void Extend(List<int> prefix, bool[] used)
        {
            if (prefix.Count == n) { result.Add(prefix.ToArray()); return; }
            for (var i = 0; i < n; i++)
            {
                if (used[i]) continue;
                used[i] = true; prefix.Add(i);
                Extend(prefix, used);
                prefix.RemoveAt(prefix.Count - 1); used[i] = false;
            }
        }
        Extend([], new bool[n]);
        return result.ToArray();
    }
}
