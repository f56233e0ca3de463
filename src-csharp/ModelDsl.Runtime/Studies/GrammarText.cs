using System.Text;

namespace ModelDsl.Runtime.Studies;

/// <summary>
/// A seeded English-like corpus from a probabilistic grammar, for pre-training studies that need text
/// with real structure and no download: a Zipfian lexicon of invented words (nouns, verbs, adjectives,
/// adverbs, names) with regular morphology (plural -s, third person -s, past -ed); sentences with
/// subject-verb agreement that reaches across nested relative clauses and prepositional phrases,
/// transitive and intransitive verbs, coordination, reported and quoted speech; paragraphs that keep
/// one tense throughout and one topic person referred back to by a gendered pronoun. The same seed
/// gives the same lexicon and text on every machine (System.Random with a seed is stable).
/// </summary>
public sealed class GrammarText
{
    private static readonly string[] Onsets = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr", "gr", "kl", "pl", "st", "tr", "sh", "ch", "th"];
    private static readonly string[] Vowels = ["a", "e", "i", "o", "u", "ai", "ea", "oo", "ou"];
    private static readonly string[] Codas = ["", "", "", "n", "m", "l", "r", "k", "t", "nd", "st", "rk"];
    private static readonly string[] Determiners = ["the", "the", "the", "a", "this", "every", "some", "my", "our", "that"];
    private static readonly string[] PluralDeterminers = ["the", "the", "these", "some", "many", "our", "two", "three", "few"];
    private static readonly string[] Prepositions = ["in", "on", "near", "under", "with", "from", "behind", "beside", "over", "across"];
    private static readonly string[] Conjunctions = ["and", "but", "because", "while", "so", "although"];
    private static readonly string[] SpeechVerbs = ["said", "wrote", "whispered", "claimed", "asked"];

    private readonly string[] nouns, verbs, adjectives, adverbs, femaleNames, maleNames;
    private readonly bool[] transitive;
    private readonly Zipf nounRanks, verbRanks, adjectiveRanks, adverbRanks, nameRanks;

    /// <param name="lexicon">Words in total over the open classes (a few thousand).</param>
    public GrammarText(int lexicon, int seed)
    {
        if (lexicon < 100 || lexicon > 50_000) throw new ArgumentOutOfRangeException(nameof(lexicon), lexicon, "lexicon must lie in [100, 50000] words");
        var random = new Random(seed);
        var used = new HashSet<string>(Determiners.Concat(PluralDeterminers).Concat(Prepositions).Concat(Conjunctions).Concat(SpeechVerbs)
            .Concat(["he", "she", "it", "they", "that", "who", "not", "do", "does", "an"]));
        string[] Words(int count, int minSyllables, int maxSyllables)
        {
            var words = new string[count];
            for (var i = 0; i < count; i++)
            {
                string word;
                do
                {
                    var syllables = random.Next(minSyllables, maxSyllables + 1);
                    var text = new StringBuilder();
                    for (var s = 0; s < syllables; s++)
                        text.Append(Onsets[random.Next(Onsets.Length)]).Append(Vowels[random.Next(Vowels.Length)]).Append(Codas[random.Next(Codas.Length)]);
                    word = text.ToString();
                    // Every surface form a word can take (plural or third person, past, the name endings)
                    // must be new, so that no form of one word spells another word or form.
                } while (word.EndsWith('s') || word.EndsWith('e') || Forms(word).Any(used.Contains));
                foreach (var form in Forms(word)) used.Add(form);
                words[i] = word;
            }
            return words;
        }
        static string[] Forms(string word) => [word, Plural(word), word + "ed", word + "a", word + "o"];
        // Open-class shares roughly as in English text: nouns most, then verbs, adjectives, adverbs.
        nouns = Words(lexicon * 45 / 100, 1, 3);
        verbs = Words(lexicon * 25 / 100, 1, 2);
        adjectives = Words(lexicon * 18 / 100, 1, 3);
        adverbs = Words(lexicon * 7 / 100, 2, 3);
        var names = Words(Math.Max(2, lexicon - nouns.Length - verbs.Length - adjectives.Length - adverbs.Length), 2, 3);
        femaleNames = names.Where((_, i) => i % 2 == 0).Select(n => Capitalize(n) + "a").ToArray();
        maleNames = names.Where((_, i) => i % 2 == 1).Select(n => Capitalize(n) + "o").ToArray();
        transitive = verbs.Select(_ => random.NextDouble() < 0.6).ToArray();
        nounRanks = new Zipf(nouns.Length);
        verbRanks = new Zipf(verbs.Length);
        adjectiveRanks = new Zipf(adjectives.Length);
        adverbRanks = new Zipf(adverbs.Length);
        nameRanks = new Zipf(Math.Min(femaleNames.Length, maleNames.Length));
    }

    public int LexiconSize => nouns.Length + verbs.Length + adjectives.Length + adverbs.Length + femaleNames.Length + maleNames.Length;
    public IReadOnlyList<string> Nouns => nouns;
    public IReadOnlyList<string> Verbs => verbs;

    /// <summary>The plural of a noun: -es after s, x, sh, ch; else -s.</summary>
    public static string Plural(string noun) =>
        noun.EndsWith('s') || noun.EndsWith('x') || noun.EndsWith("sh") || noun.EndsWith("ch") ? noun + "es" : noun + "s";

    /// <summary>A verb's form: past -ed for any subject; present -s (as Plural) for a singular subject only.</summary>
    public static string Inflect(string verb, bool pluralSubject, bool past) => past ? verb + "ed" : pluralSubject ? verb : Plural(verb);

    /// <summary>About <paramref name="bytes"/> bytes of paragraphs separated by blank lines (whole paragraphs; at least one).</summary>
    public string Generate(int bytes, int seed)
    {
        if (bytes < 1) throw new ArgumentOutOfRangeException(nameof(bytes), bytes, "bytes must be positive");
        var random = new Random(seed);
        var text = new StringBuilder(bytes + 2048);
        while (text.Length < bytes)
        {
            if (text.Length > 0) text.Append("\n\n");
            text.Append(Paragraph(random));
        }
        return text.ToString();
    }

    /// <summary>Writes <see cref="Generate"/>(bytes, seed) as ASCII, unless the file already holds exactly that text.</summary>
    public string WriteCorpus(string path, int bytes, int seed)
    {
        var text = Generate(bytes, seed);
        if (!File.Exists(path) || File.ReadAllText(path) != text)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            File.WriteAllText(path, text);
        }
        return text;
    }

    /// <summary>One tense and one topic person for the whole paragraph: the long-range state a model must carry.</summary>
    private sealed record ParagraphState(bool Past, string Topic, bool Female, Random Random);

    private string Paragraph(Random random)
    {
        var female = random.Next(2) == 0;
        var topic = (female ? femaleNames : maleNames)[nameRanks.Sample(random)];
        var state = new ParagraphState(random.NextDouble() < 0.5, topic, female, random);
        var sentences = new List<string>();
        var count = random.Next(3, 9);
        for (var i = 0; i < count; i++)
        {
            var sentence = i == 0 ? Introduction(state) : random.NextDouble() switch
            {
                < 0.15 => Quoted(state),
                < 0.30 => Reported(state),
                < 0.45 => Clause(state, TopicSubject(state)) + " " + Pick(random, Conjunctions) + " " + Clause(state, null),
                _ => random.NextDouble() < 0.35 ? Clause(state, TopicSubject(state)) : Clause(state, null),
            };
            sentences.Add(sentence.EndsWith('"') ? Capitalize(sentence) : Capitalize(sentence) + ".");
        }
        return string.Join(" ", sentences);
    }

    private string Introduction(ParagraphState s)
    {
        var verb = verbs[verbRanks.Sample(s.Random)];
        return $"{s.Topic} {Inflect(verb, false, s.Past)} {NounPhrase(s, s.Random.NextDouble() < 0.4, 1).Text}";
    }

    /// <summary>The topic as a singular subject: the name now and then, else the pronoun that agrees with its gender.</summary>
    private static (string Text, bool Plural)? TopicSubject(ParagraphState s) =>
        (s.Random.NextDouble() < 0.3 ? s.Topic : s.Female ? "she" : "he", false);

    private string Quoted(ParagraphState s)
    {
        var speaker = s.Random.NextDouble() < 0.5 ? s.Topic : s.Female ? "she" : "he";
        return $"{speaker} {Pick(s.Random, SpeechVerbs)}, \"{Capitalize(Clause(s, null))}.\"";
    }

    private string Reported(ParagraphState s)
    {
        var speaker = s.Random.NextDouble() < 0.5 ? s.Topic : NounPhrase(s, s.Random.NextDouble() < 0.4, 1).Text;
        return $"{speaker} {Pick(s.Random, SpeechVerbs)} that {Clause(s, null)}";
    }

    /// <summary>Subject, optional adverb, the verb agreeing with the subject's head (not with any noun in between), then its object or a place.</summary>
    private string Clause(ParagraphState s, (string Text, bool Plural)? subject)
    {
        var (text, plural) = subject ?? NounPhrase(s, s.Random.NextDouble() < 0.4, 2);
        var verb = verbRanks.Sample(s.Random);
        var parts = new List<string> { text };
        if (s.Random.NextDouble() < 0.15) parts.Add(adverbs[adverbRanks.Sample(s.Random)]);
        if (s.Random.NextDouble() < 0.08 && !s.Past) parts.Add(plural ? "do not" : "does not");
        var negated = parts[^1].EndsWith("not");
        parts.Add(negated ? verbs[verb] : Inflect(verbs[verb], plural, s.Past));
        if (transitive[verb]) parts.Add(NounPhrase(s, s.Random.NextDouble() < 0.4, 1).Text);
        else if (s.Random.NextDouble() < 0.5) parts.Add(Pick(s.Random, Prepositions) + " " + NounPhrase(s, s.Random.NextDouble() < 0.4, 0).Text);
        return string.Join(" ", parts);
    }

    /// <summary>Determiner (agreeing in number), adjectives, the head noun, and with decreasing depth a place or a relative clause.</summary>
    private (string Text, bool Plural) NounPhrase(ParagraphState s, bool plural, int depth)
    {
        var r = s.Random;
        var parts = new List<string> { Pick(r, plural ? PluralDeterminers : Determiners) };
        var adjectivesCount = r.NextDouble() switch { < 0.55 => 0, < 0.9 => 1, _ => 2 };
        for (var i = 0; i < adjectivesCount; i++) parts.Add(adjectives[adjectiveRanks.Sample(r)]);
        var noun = nouns[nounRanks.Sample(r)];
        parts.Add(plural ? Plural(noun) : noun);
        if (depth > 0)
        {
            var roll = r.NextDouble();
            if (roll < 0.2)
                parts.Add(Pick(r, Prepositions) + " " + NounPhrase(s, r.NextDouble() < 0.4, depth - 1).Text);
            else if (roll < 0.4)
            {
                // Subject relative: "that <verb agreeing with this noun> ..."
                var verb = verbRanks.Sample(r);
                parts.Add("that " + Inflect(verbs[verb], plural, s.Past));
                if (transitive[verb]) parts.Add(NounPhrase(s, r.NextDouble() < 0.4, depth - 1).Text);
            }
            else if (roll < 0.55)
            {
                // Object relative: "that <another subject> <verb agreeing with that subject>", a nested dependency.
                var (inner, innerPlural) = NounPhrase(s, r.NextDouble() < 0.4, depth - 1);
                var verb = verbs[verbRanks.Sample(r)];
                parts.Add($"that {inner} {Inflect(verb, innerPlural, s.Past)}");
            }
        }
        // "a" becomes "an" before a vowel: agreement with the next word, whatever class it is.
        if (parts[0] == "a" && "aeiou".Contains(parts[1][0])) parts[0] = "an";
        return (string.Join(" ", parts), plural);
    }

    private static string Pick(Random random, string[] words) => words[random.Next(words.Length)];
    private static string Capitalize(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];

    /// <summary>Ranks 0 .. n-1 with P(r) proportional to 1 / (r + 1): Zipf's law of word frequencies.</summary>
    private sealed class Zipf
    {
        private readonly double[] cumulative;

        public Zipf(int n)
        {
            cumulative = new double[n];
            var total = 0.0;
            for (var r = 0; r < n; r++) cumulative[r] = total += 1.0 / (r + 1);
            for (var r = 0; r < n; r++) cumulative[r] /= total;
        }

        public int Sample(Random random)
        {
            var index = Array.BinarySearch(cumulative, random.NextDouble());
            return Math.Min(index < 0 ? ~index : index, cumulative.Length - 1);
        }
    }
}
