using ModelDsl.Runtime.Studies;

namespace ModelDsl.Runtime.Tests.Studies;

public sealed class GrammarTextTests
{
    private static readonly GrammarText Grammar = new(lexicon: 3000, seed: 2509);
    private static readonly string Text = Grammar.Generate(200_000, seed: 1);
    private static readonly string[] Paragraphs = Text.Split("\n\n");

    private static string[] Words(string paragraph) =>
        paragraph.Split([' ', ',', '.', '"'], StringSplitOptions.RemoveEmptyEntries).Select(w => w.ToLowerInvariant()).ToArray();

    [Fact]
    public void The_corpus_is_reproducible_from_its_seeds_and_has_the_asked_size()
    {
        Assert.Equal(Text, new GrammarText(3000, 2509).Generate(200_000, 1));
        Assert.NotEqual(Text, Grammar.Generate(200_000, 2));
        Assert.NotEqual(Text, new GrammarText(3000, 7).Generate(200_000, 1));
        Assert.InRange(Text.Length, 200_000, 210_000);
        Assert.All(Text, c => Assert.True(c == '\n' || (c >= ' ' && c <= '~'), $"non-ASCII character {(int)c}"));
        Assert.InRange(Grammar.LexiconSize, 2990, 3000);
    }

    [Theory]
    [InlineData("brak", "braks")]
    [InlineData("trax", "traxes")]
    [InlineData("dush", "dushes")]
    public void Plurals_and_verb_forms_follow_the_regular_morphology(string stem, string plural)
    {
        Assert.Equal(plural, GrammarText.Plural(stem));
        Assert.Equal(plural, GrammarText.Inflect(stem, pluralSubject: false, past: false));
        Assert.Equal(stem, GrammarText.Inflect(stem, pluralSubject: true, past: false));
        Assert.Equal(stem + "ed", GrammarText.Inflect(stem, pluralSubject: true, past: true));
    }

    [Fact]
    public void A_paragraph_keeps_one_tense_and_one_topic_pronoun()
    {
        var verbs = Grammar.Verbs.ToHashSet();
        foreach (var paragraph in Paragraphs)
        {
            var words = Words(paragraph);
            var past = words.Count(w => w.EndsWith("ed") && verbs.Contains(w[..^2]));
            var present = words.Count(w => verbs.Contains(w) || (w.EndsWith('s') && (verbs.Contains(w[..^1]) || (w.EndsWith("es") && verbs.Contains(w[..^2])))));
            Assert.True(past == 0 || present == 0, $"tenses mixed in: {paragraph[..Math.Min(200, paragraph.Length)]}");
            // The topic (the first word) is a name whose ending gives its gender; only that pronoun appears.
            var topic = paragraph.Split(' ')[0];
            Assert.DoesNotContain(topic.EndsWith('a') ? "he" : "she", words);
            Assert.Equal(0, paragraph.Count(c => c == '"') % 2);
        }
    }

    [Fact]
    public void A_subject_relative_clause_verb_agrees_with_its_head_noun()
    {
        // "<these|many|two|three|few> adj* noun-s that VERB": VERB is bare (present) or -ed (past);
        // "<this|every> adj* noun that VERB": VERB takes -s (present) or -ed.
        var verbs = Grammar.Verbs.ToHashSet();
        var thirdPerson = Grammar.Verbs.Select(GrammarText.Plural).ToHashSet();
        var pasts = Grammar.Verbs.Select(v => v + "ed").ToHashSet();
        var nouns = Grammar.Nouns.ToHashSet();
        var pluralNouns = Grammar.Nouns.Select(GrammarText.Plural).ToHashSet();
        var plural = new HashSet<string> { "these", "many", "two", "three", "few" };
        var singular = new HashSet<string> { "this", "every", "a", "an" };
        var checkedCount = 0;
        foreach (var paragraph in Paragraphs)
        {
            var words = Words(paragraph);
            for (var i = 0; i + 4 < words.Length; i++)
            {
                var isPlural = plural.Contains(words[i]);
                if (!isPlural && !singular.Contains(words[i])) continue;
                for (var j = i + 1; j <= i + 3 && j + 2 < words.Length; j++)
                {
                    if (!(isPlural ? pluralNouns : nouns).Contains(words[j])) continue;
                    var verb = words[j + 2];
                    if (words[j + 1] == "that" && (verbs.Contains(verb) || thirdPerson.Contains(verb) || pasts.Contains(verb)))
                    {
                        checkedCount++;
                        Assert.True(pasts.Contains(verb) || (isPlural ? verbs.Contains(verb) : thirdPerson.Contains(verb)),
                            $"'{string.Join(' ', words[i..(j + 3)])}': the verb does not agree with its head noun");
                    }
                    break;
                }
            }
        }
        Assert.True(checkedCount > 50, $"only {checkedCount} subject relatives found");
    }

    [Fact]
    public void Noun_frequencies_follow_a_Zipf_law()
    {
        var counts = Paragraphs.SelectMany(Words).GroupBy(w => w).ToDictionary(g => g.Key, g => g.Count());
        int Count(string noun) => counts.GetValueOrDefault(noun) + counts.GetValueOrDefault(GrammarText.Plural(noun));
        // P(rank r) ~ 1/(r+1): the most frequent noun about 10 times the 10th, 100 times the 100th.
        var first = Count(Grammar.Nouns[0]);
        Assert.InRange((double)first / Count(Grammar.Nouns[9]), 5, 20);
        Assert.InRange((double)first / Math.Max(1, Count(Grammar.Nouns[99])), 40, 250);
    }

    [Fact]
    public void WriteCorpus_writes_the_text_once_and_leaves_an_identical_file_alone()
    {
        var folder = Directory.CreateTempSubdirectory("modeldsl-grammar-").FullName;
        try
        {
            var path = Path.Combine(folder, "sub", "corpus.txt");
            var text = Grammar.WriteCorpus(path, 5_000, 3);
            Assert.Equal(text, File.ReadAllText(path));
            var written = File.GetLastWriteTimeUtc(path);
            File.SetLastWriteTimeUtc(path, written.AddHours(-1));
            Grammar.WriteCorpus(path, 5_000, 3);
            Assert.Equal(written.AddHours(-1), File.GetLastWriteTimeUtc(path));
        }
        finally
        {
            Directory.Delete(folder, true);
        }
    }
}
