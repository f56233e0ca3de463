using ModelDsl.Core.Tasks;
using static TorchSharp.torch;
using ModelDsl.Runtime.Variants;
using ModelDsl.Runtime.Tokenizers;

namespace ModelDsl.Runtime.Tasks;

/// <summary>
/// A user's UTF-8 text file as a token stream: its bytes (vocabulary 256) or BPE tokens
/// (<see cref="TextTokenizer"/>). The first (1 - ValidationFraction) of the tokens train, the rest validate. Training windows of Length + 1 bytes start at random
/// offsets drawn per (seed, step, micro-batch); validation windows are fixed, non-overlapping
/// inputs laid out from the start of the held-out part. The loss counts every position.
/// With <see cref="TextCorpus.Bos"/> every input starts with the beginning-of-sequence id
/// (<see cref="BosId"/>) followed by the window's first Length - 1 tokens; targets are unchanged.
/// </summary>
[Implements(typeof(TextCorpus))]
public sealed class TextCorpusTask : ITask
{
    private const long TrainingStream = 1;

    private readonly TextCorpus spec;
    private readonly int seed;
    private readonly int[] training;
    private readonly int[] validation;

    public TextCorpusTask(TextCorpus spec, int seed)
    {
        spec.EnsureValid();
        this.spec = spec;
        this.seed = seed;
        var path = System.IO.Path.GetFullPath(spec.Path);
        if (!File.Exists(path)) throw new FileNotFoundException($"task.path: corpus file '{path}' does not exist", path);
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length == 0) throw new InvalidDataException($"task.path: corpus file '{path}' is empty");
        Tokenizer = TextTokenizer.For(spec);
        // Bytes are their own ids; other tokenizers read the file as UTF-8 text.
        var tokens = Tokenizer.Kind == TokenizerKind.Bytes
            ? Array.ConvertAll(bytes, b => (int)b)
            : Tokenizer.Encode(DecodeUtf8(bytes, path));
        var unit = Tokenizer.Kind == TokenizerKind.Bytes ? "bytes" : $"{Tokenizer.Kind} tokens";
        var window = spec.Length + 1;
        var trainingLength = (int)Math.Floor(tokens.Length * (1 - spec.ValidationFraction));
        var validationLength = tokens.Length - trainingLength;
        if (trainingLength < window || validationLength < window)
            throw new InvalidDataException(
                $"task.path: corpus file '{path}' has {tokens.Length} {unit}, split into {trainingLength} for training and " +
                $"{validationLength} for validation (validationFraction {spec.ValidationFraction}); each part needs at least " +
                $"one window of length + 1 = {window} {unit}");
        training = tokens[..trainingLength];
        validation = tokens[trainingLength..];
    }

    private static string DecodeUtf8(byte[] bytes, string path)
    {
        try
        {
            return new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (System.Text.DecoderFallbackException e)
        {
            throw new InvalidDataException($"task.path: corpus file '{path}' is not UTF-8 text (invalid bytes at offset {e.Index}); a BPE tokenizer reads text, the bytes tokenizer reads any file", e);
        }
    }

    /// <summary>How the corpus was tokenized (also decodes ids back to text).</summary>
    public TextTokenizer Tokenizer { get; }

    public TaskSpec Spec => spec;
    public int VocabularySize => Tokenizer.VocabularySize + (spec.Bos ? 1 : 0);

    /// <summary>The beginning-of-sequence id (one past the tokenizer's ids) when <see cref="TextCorpus.Bos"/> is set.</summary>
    public int? BosId => spec.Bos ? Tokenizer.VocabularySize : null;
    public int SequenceLength => spec.Length;
    public int TrainingTokens => training.Length;
    public int ValidationTokens => validation.Length;

    /// <summary>Number of distinct validation windows; validation batch rows cycle through them.</summary>
    public int ValidationWindows => (validation.Length - 1) / spec.Length;

    public Batch TrainBatch(long step, int microIndex, int size)
    {
        var random = SeededRandom.For(seed, TrainingStream, step, microIndex);
        var starts = new int[size];
        for (var b = 0; b < size; b++) starts[b] = random.Next(training.Length - spec.Length);
        return MakeBatch(training, starts);
    }

    public Batch ValidationBatch(int index, int size)
    {
        // Windows advance by Length (each input is followed by its target shift) and wrap around.
        var starts = new int[size];
        for (var b = 0; b < size; b++) starts[b] = (int)(((long)index * size + b) % ValidationWindows) * spec.Length;
        return MakeBatch(validation, starts);
    }

    /// <summary>Free text has no verifiable problems; accuracy is not reported for this task.</summary>
    public IReadOnlyList<Problem> EvalProblems(int count) => [];
    public int CompletionLength => 0;

    public bool Verify(Problem problem, ReadOnlySpan<long> completion) =>
        throw new NotSupportedException("a text corpus has no verifiable problems");

    private Batch MakeBatch(int[] source, int[] starts)
    {
        int size = starts.Length, length = spec.Length;
        var inputs = new long[size * length];
        var targets = new long[size * length];
        for (var b = 0; b < size; b++)
            for (var t = 0; t < length; t++)
            {
                // With BOS the input is shifted right by one: BOS, x0 .. x(L-2) predicts x0 .. x(L-1).
                inputs[b * length + t] = spec.Bos ? (t == 0 ? Tokenizer.VocabularySize : source[starts[b] + t - 1]) : source[starts[b] + t];
                targets[b * length + t] = spec.Bos ? source[starts[b] + t] : source[starts[b] + t + 1];
            }
        return new Batch(
            tensor(inputs, [size, length], ScalarType.Int64),
            tensor(targets, [size, length], ScalarType.Int64),
            ones(size, length, ScalarType.Float32));
    }
}
