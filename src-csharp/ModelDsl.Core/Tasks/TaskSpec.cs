using ModelDsl.Core.Variants;
using System.Text.Json.Serialization;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Tasks;

/// <summary>The data a model is trained and evaluated on. Each task kind is a subclass; the
/// runtime's task registry turns it into a generator or loader with a verifier.</summary>
public abstract record TaskSpec
{
    /// <summary>Tokens the task uses (ids 0 .. VocabularySize-1); the model's vocab must cover them.</summary>
    public abstract int VocabularySize();

    /// <summary>Length of the model's input sequences (targets are the inputs shifted by one).</summary>
    public abstract int SequenceLength();

    /// <summary>Length of held-out (validation and evaluation) sequences; longer than
    /// <see cref="SequenceLength"/> for tasks that test length generalisation.</summary>
    public virtual int EvalSequenceLength() => SequenceLength();

    public abstract void Validate(Validator v, string path);

    /// <summary>Throws <see cref="SpecValidationException"/> listing every error (paths under "task"), or returns this spec.</summary>
    public TaskSpec EnsureValid()
    {
        var v = new Validator();
        Validate(v, "task");
        v.ThrowIfAny();
        return this;
    }
}

/// <summary>
/// Sparse parity Parity(n, k) (PAPERS.md §10): n random bits, the label is the XOR of the k bits at
/// a secret index set S. With chain of thought the model writes the running XORs
/// c_1 = b_(s1), c_j = c_(j-1) xor b_(sj) before the answer c_k.
/// Sequence: b_1 .. b_n  '='  (c_1 .. c_k | y). Loss on the tokens after '=' only.
/// </summary>
[Kind("sparseParity")]
public sealed record SparseParity : TaskSpec
{
    public const int Zero = 0, One = 1, Separator = 2, EndOfSequence = 3;
    public const int Vocabulary = 4;

    public int Bits { get; init; } = 20;
    public int Secret { get; init; } = 3;
    public bool ChainOfThought { get; init; } = true;
    /// <summary>Seeds the choice of the secret index set S (and nothing else).</summary>
    public int TaskSeed { get; init; } = 0;
    /// <summary>Explicit secret indices (0-based, increasing); null draws Secret of them from TaskSeed.</summary>
    public ValueList<int>? SecretIndices { get; init; }
    /// <summary>Size of a fixed training set; null draws fresh samples at every step.</summary>
    public long? TrainingExamples { get; init; }

    [System.Text.Json.Serialization.JsonIgnore]
    public int AnswerLength => ChainOfThought ? Secret : 1;

    public override int VocabularySize() => Vocabulary;

    // Input holds the n bits, '=', then all answer tokens but the last (which is only a target).
    public override int SequenceLength() => Bits + AnswerLength;

    public override void Validate(Validator v, string path)
    {
        v.Require(Bits >= 1, $"{path}.bits", $"{Bits} must be at least 1");
        v.Require(Secret >= 1 && Secret <= Bits, $"{path}.secret", $"{Secret} must lie in [1, bits = {Bits}]");
        if (SecretIndices is { } s)
        {
            v.Require(s.Count == Secret, $"{path}.secretIndices", $"has {s.Count} indices but secret is {Secret}");
            v.Require(s.All(i => i >= 0 && i < Bits), $"{path}.secretIndices", $"every index must lie in [0, {Bits})");
            v.Require(s.Zip(s.Skip(1)).All(p => p.First < p.Second), $"{path}.secretIndices", "indices must be strictly increasing");
        }
        if (TrainingExamples is { } n) v.Require(n >= 1, $"{path}.trainingExamples", $"{n} must be at least 1");
    }
}

public enum TokenizerKind
{
    /// <summary>UTF-8 bytes, vocabulary 256.</summary>
    Bytes,
    /// <summary>GPT-2's byte-level BPE (50,257 tokens), as served with Microsoft.ML.Tokenizers.</summary>
    Gpt2,
    /// <summary>A byte-level BPE vocabulary from files: <c>vocab.json</c> (token → id) and <c>merges.txt</c>,
    /// the layout GPT-2-style tokenizers are saved in (e.g. one made by <c>modeldsl tokenizer</c>).</summary>
    Bpe,
}

/// <summary>A user's UTF-8 text file, tokenized, split into a training and a validation part.</summary>
[Kind("textCorpus")]
public sealed record TextCorpus : TaskSpec
{
    public string Path { get; init; } = "";
    public int Length { get; init; } = 256;
    /// <summary>The last fraction of the token stream is held out for validation.</summary>
    public double ValidationFraction { get; init; } = 0.1;
    public TokenizerKind Tokenizer { get; init; } = TokenizerKind.Bytes;
    /// <summary>For <see cref="TokenizerKind.Bpe"/>: the vocabulary file (JSON object, token → id).</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? VocabularyFile { get; init; }
    /// <summary>For <see cref="TokenizerKind.Bpe"/>: the merges file (one "left right" pair per line, in merge order).</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? MergesFile { get; init; }
    /// <summary>Prepend a beginning-of-sequence token (a new id, the tokenizer's vocabulary size) to every
    /// window, so that position 0 always holds the same token (as in LMs trained with BOS, where the
    /// attention sink sits on it). The vocabulary grows by one; omitted from JSON when false.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public bool Bos { get; init; }

    /// <summary>GPT-2's vocabulary: 50,000 merges, 256 byte tokens and the end-of-text token.</summary>
    public const int Gpt2VocabularySize = 50257;

    public override int VocabularySize() => TokenizerVocabularySize() + (Bos ? 1 : 0);

    /// <summary>The tokenizer's own ids, without the beginning-of-sequence token.</summary>
    public int TokenizerVocabularySize() => Tokenizer switch
    {
        TokenizerKind.Gpt2 => Gpt2VocabularySize,
        TokenizerKind.Bpe => BpeVocabularyFile.Size(VocabularyFile!),
        _ => 256,
    };
    public override int SequenceLength() => Length;

    public override void Validate(Validator v, string path)
    {
        v.Require(!string.IsNullOrWhiteSpace(Path), $"{path}.path", "a corpus file is required");
        v.Require(Length >= 1, $"{path}.length", $"{Length} must be at least 1");
        v.InOpenUnit(ValidationFraction, $"{path}.validationFraction");
        v.Require(Enum.IsDefined(Tokenizer), $"{path}.tokenizer", $"{Tokenizer} is not a known tokenizer");
        if (Tokenizer == TokenizerKind.Bpe)
        {
            if (BpeVocabularyFile.Problem(VocabularyFile) is { } vocabularyProblem) v.Fail($"{path}.vocabularyFile", vocabularyProblem);
            if (string.IsNullOrWhiteSpace(MergesFile)) v.Fail($"{path}.mergesFile", "a merges file is required by the bpe tokenizer");
            else if (!File.Exists(MergesFile)) v.Fail($"{path}.mergesFile", $"'{System.IO.Path.GetFullPath(MergesFile)}' does not exist");
        }
        else
        {
            v.Require(VocabularyFile is null, $"{path}.vocabularyFile", $"is only read by the bpe tokenizer, not {Tokenizer}");
            v.Require(MergesFile is null, $"{path}.mergesFile", $"is only read by the bpe tokenizer, not {Tokenizer}");
        }
    }
}
