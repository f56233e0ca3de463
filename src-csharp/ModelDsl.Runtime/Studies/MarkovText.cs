namespace ModelDsl.Runtime.Studies;

/// <summary>
/// A random order-k Markov chain over the first <c>alphabet</c> lower-case letters: a synthetic
/// "language" with a known floor for the next-token loss, for pre-training studies on a text corpus
/// (PAPERS.md §6). Every context of k letters has <c>successors</c> distinct next letters whose
/// probabilities are drawn at random (normalised -log u, i.e. a flat Dirichlet); two seeds give two
/// unrelated languages over the same letters, e.g. a pre-training and a shifted fine-tuning domain.
/// </summary>
public sealed class MarkovText
{
    private readonly int alphabet;
    private readonly int order;
    // probabilities[context * alphabet + next]; context = letters read as base-alphabet digits, oldest first.
    private readonly double[] probabilities;

    public MarkovText(int alphabet, int order, int successors, int seed)
    {
        if (alphabet < 2 || alphabet > 26) throw new ArgumentOutOfRangeException(nameof(alphabet), alphabet, "alphabet must lie in [2, 26] letters");
        if (order < 1 || order > 4) throw new ArgumentOutOfRangeException(nameof(order), order, "order must lie in [1, 4]");
        if (successors < 1 || successors > alphabet)
            throw new ArgumentOutOfRangeException(nameof(successors), successors, $"successors must lie in [1, alphabet = {alphabet}]");
        this.alphabet = alphabet;
        this.order = order;
        Contexts = (int)Math.Pow(alphabet, order);
        probabilities = new double[Contexts * alphabet];
        var random = new Random(seed);
        for (var context = 0; context < Contexts; context++)
        {
            var letters = Enumerable.Range(0, alphabet).OrderBy(_ => random.Next()).Take(successors).ToArray();
            var weights = letters.Select(_ => -Math.Log(1 - random.NextDouble())).ToArray();
            var total = weights.Sum();
            for (var i = 0; i < successors; i++) probabilities[context * alphabet + letters[i]] = weights[i] / total;
        }
    }

    public int Alphabet => alphabet;
    public int Order => order;
    public int Contexts { get; }

    /// <summary>P(next letter | the context's k letters, oldest first), indices 0 .. alphabet - 1.</summary>
    public double Probability(ReadOnlySpan<int> context, int next) => probabilities[ContextIndex(context) * alphabet + next];

    /// <summary><paramref name="length"/> letters: a uniformly drawn first context, then the chain.</summary>
    public string Generate(int length, int seed)
    {
        if (length < order) throw new ArgumentOutOfRangeException(nameof(length), length, $"length must be at least the order {order}");
        var random = new Random(seed);
        var letters = new int[length];
        for (var i = 0; i < order; i++) letters[i] = random.Next(alphabet);
        for (var i = order; i < length; i++)
        {
            var row = ContextIndex(letters.AsSpan(i - order, order)) * alphabet;
            var u = random.NextDouble();
            var next = 0;
            // Inverse CDF; the last letter with non-zero probability takes any rounding remainder.
            for (var acc = 0.0; next < alphabet; next++)
            {
                acc += probabilities[row + next];
                if (u < acc) break;
            }
            if (next == alphabet) next = Array.FindLastIndex(probabilities, row + alphabet - 1, alphabet, p => p > 0) - row;
            letters[i] = next;
        }
        return new string(letters.Select(l => (char)('a' + l)).ToArray());
    }

    /// <summary>
    /// The chain's own mean next-letter loss -log P(x_t | x_(t-k) .. x_(t-1)) in nats over positions
    /// t >= k of <paramref name="text"/>: the loss floor a model that sees at least k letters of context can reach.
    /// </summary>
    public double Loss(string text)
    {
        if (text.Length <= order) throw new ArgumentException($"text needs more than order = {order} letters", nameof(text));
        var letters = text.Select(c => c - 'a').ToArray();
        if (letters.Any(l => l < 0 || l >= alphabet)) throw new ArgumentException($"text has a character outside the first {alphabet} letters", nameof(text));
        var total = 0.0;
        for (var i = order; i < letters.Length; i++)
            total -= Math.Log(probabilities[ContextIndex(letters.AsSpan(i - order, order)) * alphabet + letters[i]]);
        return total / (letters.Length - order);
    }

    /// <summary>Writes <see cref="Generate"/>(length, seed) as ASCII, unless the file already holds exactly that text.</summary>
    public string WriteCorpus(string path, int length, int seed)
    {
        var text = Generate(length, seed);
        if (!File.Exists(path) || File.ReadAllText(path) != text) File.WriteAllText(path, text);
        return text;
    }

    private int ContextIndex(ReadOnlySpan<int> context)
    {
        if (context.Length != order) throw new ArgumentException($"a context has {order} letters, got {context.Length}");
        var index = 0;
        foreach (var letter in context)
        {
            if (letter < 0 || letter >= alphabet) throw new ArgumentOutOfRangeException(nameof(context), letter, $"letters lie in [0, {alphabet})");
            index = index * alphabet + letter;
        }
        return index;
    }
}
