using Microsoft.ML.Tokenizers;
using ModelDsl.Core.Tasks;

namespace ModelDsl.Runtime.Tokenizers;

/// <summary>
/// Turns a corpus into token ids for the tokenizer a <see cref="TextCorpus"/> names, and back.
/// Bytes are handled here (one id per UTF-8 byte); BPE vocabularies go through
/// Microsoft.ML.Tokenizers: GPT-2's from its data package, others from vocab.json + merges.txt files,
/// pre-tokenized with GPT-2's pattern (<see cref="PreTokenization"/>), as <see cref="BpeTrainer"/> assumes.
/// </summary>
public sealed class TextTokenizer
{
    private readonly Tokenizer? library;

    private TextTokenizer(TokenizerKind kind, Tokenizer? library, int vocabularySize)
    {
        Kind = kind;
        this.library = library;
        VocabularySize = vocabularySize;
    }

    public TokenizerKind Kind { get; }
    public int VocabularySize { get; }

    public static TextTokenizer For(TextCorpus spec) => spec.Tokenizer switch
    {
        TokenizerKind.Bytes => new TextTokenizer(TokenizerKind.Bytes, null, 256),
        TokenizerKind.Gpt2 => new TextTokenizer(TokenizerKind.Gpt2, TiktokenTokenizer.CreateForModel("gpt2"), TextCorpus.Gpt2VocabularySize),
        TokenizerKind.Bpe => FromFiles(spec.VocabularyFile!, spec.MergesFile!),
        var other => throw new NotSupportedException($"task.tokenizer: {other} is not a known tokenizer"),
    };

    public static TextTokenizer FromFiles(string vocabularyFile, string mergesFile)
    {
        var options = new BpeOptions(Path.GetFullPath(vocabularyFile), Path.GetFullPath(mergesFile))
        {
            ByteLevel = true,
            PreTokenizer = new RegexPreTokenizer(PreTokenization.Gpt2Pattern(), null),
        };
        Tokenizer bpe;
        try
        {
            bpe = BpeTokenizer.Create(options);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or IOException or System.Text.Json.JsonException)
        {
            throw new InvalidDataException($"task.vocabularyFile/mergesFile: '{vocabularyFile}' and '{mergesFile}' are not a byte-level BPE vocabulary: {e.Message}", e);
        }
        return new TextTokenizer(TokenizerKind.Bpe, bpe, BpeVocabularyFile.Size(vocabularyFile));
    }

    public int[] Encode(string text)
    {
        if (library is null) return System.Text.Encoding.UTF8.GetBytes(text).Select(b => (int)b).ToArray();
        return library.EncodeToIds(text).ToArray();
    }

    public string Decode(IEnumerable<int> ids)
    {
        if (library is null) return System.Text.Encoding.UTF8.GetString(ids.Select(i => (byte)i).ToArray());
        return library.Decode(ids) ?? "";
    }
}
