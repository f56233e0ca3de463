using ModelDsl.Core;
using ModelDsl.Core.Model;
using ModelDsl.Core.Tasks;
using ModelDsl.Runtime.Tasks;
using ModelDsl.Runtime.Tokenizers;
using TaskFactory = ModelDsl.Runtime.Tasks.TaskFactory;

namespace ModelDsl.Runtime.Tests.Tokenizers;

/// <summary>Byte-level BPE: the alphabet, learning merges (hand-worked corpora), encoding through the
/// tokenizer library with our files, GPT-2's vocabulary, and the text corpus task on BPE tokens.</summary>
public sealed class BpeTokenizerTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("bpe-").FullName;
    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void The_byte_alphabet_is_gpt2s_one_character_per_byte()
    {
        var chars = Enumerable.Range(0, 256).Select(b => ByteLevelAlphabet.Of((byte)b)).ToArray();
        Assert.Equal(256, chars.Distinct().Count());
        Assert.Equal('A', ByteLevelAlphabet.Of((byte)'A'));
        Assert.Equal('\u0120', ByteLevelAlphabet.Of((byte)' ')); // "Ġ", as in GPT-2's vocabulary
        Assert.Equal('\u010A', ByteLevelAlphabet.Of((byte)'\n')); // "Ċ"
        Assert.Equal('\u0100', ByteLevelAlphabet.Of(0));
        Assert.Equal('\u00FF', ByteLevelAlphabet.Of(0xFF));
        Assert.Equal('\u0143', ByteLevelAlphabet.Of(0xAD)); // the soft hyphen is the last byte remapped: 256 + 67
    }

    [Fact]
    public void Merges_are_the_most_frequent_pairs_within_words_until_none_occurs_twice()
    {
        // Words "ab", " ab", " ab", " cd": (a,b) occurs 3 times, then (Ġ,ab) twice; nothing else twice.
        var vocabulary = BpeTrainer.Train("ab ab ab cd", 300);
        Assert.Equal(new[] { ("a", "b"), ("\u0120", "ab") }, vocabulary.Merges.Select(m => (m.Left, m.Right)));
        Assert.Equal(258, vocabulary.Tokens.Count);
        Assert.Equal("\u0120ab", vocabulary.Tokens[257]);
    }

    [Fact]
    public void Ties_go_to_the_pair_that_sorts_first()
    {
        // (x,y), (z,w) and (Ġ,z) all occur twice: x < z < Ġ in ordinal order; then (z,w) beats (Ġ,z); then (Ġ,zw).
        var vocabulary = BpeTrainer.Train("xy xy zw zw", 1000);
        Assert.Equal(new[] { ("x", "y"), ("z", "w"), ("\u0120", "zw") }, vocabulary.Merges.Select(m => (m.Left, m.Right)));
    }

    [Fact]
    public void The_library_encodes_with_our_files_as_the_merges_say_and_round_trips_any_text()
    {
        var (vocabularyFile, mergesFile) = BpeTrainer.Train("ab ab ab cd", 300).Save(directory);
        var tokenizer = TextTokenizer.FromFiles(vocabularyFile, mergesFile);
        Assert.Equal(258, tokenizer.VocabularySize);
        // Byte tokens have their byte value as id; "ab" is 256 and "Ġab" 257.
        Assert.Equal(new[] { 256, 257, 32, 99, 100 }, tokenizer.Encode("ab ab cd"));
        foreach (var text in new[] { "", "hello, world", "tab\there\r\nand\0nul", "ünïcödé 日本語 🙂", "  leading and trailing  " })
            Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
    }

    [Fact]
    public void A_learned_vocabulary_compresses_its_corpus()
    {
        var text = string.Concat(Enumerable.Repeat("the quick brown fox jumps over the lazy dog. ", 40));
        var (vocabularyFile, mergesFile) = BpeTrainer.Train(text, 320).Save(directory);
        var tokenizer = TextTokenizer.FromFiles(vocabularyFile, mergesFile);
        var ids = tokenizer.Encode(text);
        Assert.True(ids.Length * 3 < text.Length, $"{ids.Length} tokens for {text.Length} bytes");
        Assert.Equal(text, tokenizer.Decode(ids));
        Assert.All(ids, id => Assert.InRange(id, 0, 319));
    }

    [Fact]
    public void Gpt2_is_the_published_vocabulary()
    {
        var tokenizer = TextTokenizer.For(new TextCorpus { Path = "unused", Tokenizer = TokenizerKind.Gpt2 });
        Assert.Equal(50257, tokenizer.VocabularySize);
        Assert.Equal(new[] { 15496, 995 }, tokenizer.Encode("Hello world")); // GPT-2's ids for "Hello", " world"
        Assert.Equal("Hello world", tokenizer.Decode([15496, 995]));
    }

    [Fact]
    public void The_text_corpus_task_trains_on_bpe_tokens()
    {
        var text = string.Concat(Enumerable.Range(0, 200).Select(i => $"line {i % 17} says hello to line {(i * 7) % 13}.\n"));
        var corpus = Path.Combine(directory, "corpus.txt");
        File.WriteAllText(corpus, text);
        var learned = BpeTrainer.Train(text, 300);
        Assert.InRange(learned.Tokens.Count, 270, 300);
        var (vocabularyFile, mergesFile) = learned.Save(directory);
        var spec = new TextCorpus { Path = corpus, Length = 16, ValidationFraction = 0.25, Tokenizer = TokenizerKind.Bpe, VocabularyFile = vocabularyFile, MergesFile = mergesFile };
        Assert.Equal(learned.Tokens.Count, spec.VocabularySize());
        var task = (TextCorpusTask)TaskFactory.Create(spec, 5);
        var all = task.Tokenizer.Encode(text);
        Assert.Equal(all.Length, task.TrainingTokens + task.ValidationTokens);
        Assert.Equal((int)Math.Floor(all.Length * 0.75), task.TrainingTokens);
        using var batch = task.TrainBatch(0, 0, 4);
        var inputs = batch.Inputs.data<long>().ToArray();
        var targets = batch.Targets.data<long>().ToArray();
        // Every row is a window of the training tokens, targets shifted by one.
        for (var row = 0; row < 4; row++)
        {
            var window = inputs.Skip(row * 16).Take(16).Select(i => (int)i).ToArray();
            var start = Enumerable.Range(0, task.TrainingTokens - 16).First(s => all.AsSpan(s, 16).SequenceEqual(window));
            Assert.Equal(all.Skip(start + 1).Take(16).Select(i => (long)i), targets.Skip(row * 16).Take(16));
        }

        var experiment = new ExperimentSpec { Name = "bpe", Model = ModelSpec.Llama(vocab: 256, width: 16, depth: 1, heads: 2), Task = spec };
        Assert.Contains(experiment.Validate(), e => e.Path == "model.vocab" && e.Message.Contains($"{learned.Tokens.Count}"));
    }

    [Fact]
    public void Bpe_specs_name_missing_or_misplaced_files()
    {
        var errors = new ExperimentSpec { Name = "x", Task = new TextCorpus { Path = "c.txt", Tokenizer = TokenizerKind.Bpe } }.Validate();
        Assert.Contains(errors, e => e.Path == "task.vocabularyFile" && e.Message.Contains("required"));
        Assert.Contains(errors, e => e.Path == "task.mergesFile" && e.Message.Contains("required"));

        var missing = Path.Combine(directory, "nope.json");
        errors = new ExperimentSpec { Name = "x", Task = new TextCorpus { Path = "c.txt", Tokenizer = TokenizerKind.Bpe, VocabularyFile = missing, MergesFile = missing } }.Validate();
        Assert.Contains(errors, e => e.Path == "task.vocabularyFile" && e.Message.Contains("does not exist"));

        var notAVocabulary = Path.Combine(directory, "list.json");
        File.WriteAllText(notAVocabulary, "[1, 2]");
        errors = new ExperimentSpec { Name = "x", Task = new TextCorpus { Path = "c.txt", Tokenizer = TokenizerKind.Bpe, VocabularyFile = notAVocabulary, MergesFile = notAVocabulary } }.Validate();
        Assert.Contains(errors, e => e.Path == "task.vocabularyFile" && e.Message.Contains("not a JSON object"));

        errors = new ExperimentSpec { Name = "x", Task = new TextCorpus { Path = "c.txt", VocabularyFile = notAVocabulary } }.Validate();
        Assert.Contains(errors, e => e.Path == "task.vocabularyFile" && e.Message.Contains("only read by the bpe tokenizer"));
    }

    [Fact]
    public void A_corpus_that_is_not_utf8_is_refused_by_a_bpe_tokenizer_naming_the_offset()
    {
        var corpus = Path.Combine(directory, "binary.txt");
        File.WriteAllBytes(corpus, [.. "fine text "u8.ToArray(), 0xFF, 0xFE, .. "more"u8.ToArray()]);
        var e = Assert.Throws<InvalidDataException>(() => TaskFactory.Create(new TextCorpus { Path = corpus, Length = 2, Tokenizer = TokenizerKind.Gpt2 }, 0));
        Assert.Contains("not UTF-8", e.Message);
        Assert.Contains("offset 10", e.Message);
    }
}
