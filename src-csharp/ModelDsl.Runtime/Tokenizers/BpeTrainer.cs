using System.Text;
using System.Text.Json;

namespace ModelDsl.Runtime.Tokenizers;

/// <summary>
/// Learns a byte-level BPE vocabulary from a corpus (Sennrich et al., 2016; GPT-2's byte-level
/// variant): start from the 256 byte tokens, then repeatedly merge the most frequent adjacent pair of
/// tokens within words, counting each word as often as it occurs. Ties go to the pair whose spelling
/// sorts first (ordinal), so the result is a function of the corpus alone. Writes
/// <c>vocab.json</c> and <c>merges.txt</c> in the common layout, which the tokenizer library reads.
/// </summary>
public static class BpeTrainer
{
    public sealed record Vocabulary(IReadOnlyList<string> Tokens, IReadOnlyList<(string Left, string Right)> Merges)
    {
        /// <summary>Writes vocab.json (token → id, ids in order) and merges.txt into <paramref name="directory"/>.</summary>
        public (string VocabularyFile, string MergesFile) Save(string directory)
        {
            Directory.CreateDirectory(directory);
            var vocabularyFile = Path.Combine(directory, "vocab.json");
            var mergesFile = Path.Combine(directory, "merges.txt");
            var ids = new Dictionary<string, int>();
            for (var i = 0; i < Tokens.Count; i++) ids[Tokens[i]] = i;
            File.WriteAllText(vocabularyFile, JsonSerializer.Serialize(ids, new JsonSerializerOptions { WriteIndented = true }));
            var lines = new StringBuilder("#version: 0.2\n");
            foreach (var (left, right) in Merges) lines.Append(left).Append(' ').Append(right).Append('\n');
            File.WriteAllText(mergesFile, lines.ToString());
            return (vocabularyFile, mergesFile);
        }
    }

    /// <param name="vocabularySize">Total tokens wanted, at least 256 (the bytes); training stops earlier
    /// when no pair occurs twice.</param>
    public static Vocabulary Train(string text, int vocabularySize)
    {
        if (vocabularySize < 256) throw new ArgumentOutOfRangeException(nameof(vocabularySize), $"{vocabularySize} is below the 256 byte tokens");
        var tokens = Enumerable.Range(0, 256).Select(b => ByteLevelAlphabet.Of((byte)b).ToString()).ToList();
        var merges = new List<(string, string)>();

        // Each distinct word once, as its current token sequence, with its count in the corpus.
        var counts = new Dictionary<string, int>();
        foreach (var word in PreTokenization.Words(text))
        {
            var spelled = ByteLevelAlphabet.Spell(Encoding.UTF8.GetBytes(word));
            counts[spelled] = counts.GetValueOrDefault(spelled) + 1;
        }
        var words = counts.Select(kv => (Symbols: kv.Key.Select(c => c.ToString()).ToList(), Count: kv.Value)).ToList();

        while (tokens.Count < vocabularySize)
        {
            var pairs = new Dictionary<(string, string), long>();
            foreach (var (symbols, count) in words)
                for (var i = 0; i + 1 < symbols.Count; i++)
                {
                    var pair = (symbols[i], symbols[i + 1]);
                    pairs[pair] = pairs.GetValueOrDefault(pair) + count;
                }
            (string Left, string Right)? best = null;
            long bestCount = 1;
            foreach (var (pair, count) in pairs)
                if (count > bestCount || count == bestCount && best is { } b && Compare(pair, b) < 0)
                    (best, bestCount) = (pair, count);
            if (best is not { } chosen) break;

            merges.Add(chosen);
            tokens.Add(chosen.Left + chosen.Right);
            foreach (var (symbols, _) in words) MergeInPlace(symbols, chosen.Left, chosen.Right);
        }
        return new Vocabulary(tokens, merges);
    }

    private static int Compare((string Left, string Right) a, (string Left, string Right) b)
    {
        var left = string.CompareOrdinal(a.Left, b.Left);
        return left != 0 ? left : string.CompareOrdinal(a.Right, b.Right);
    }

    /// <summary>Replaces every non-overlapping occurrence of (left, right), left to right.</summary>
    private static void MergeInPlace(List<string> symbols, string left, string right)
    {
        var write = 0;
        for (var read = 0; read < symbols.Count; read++)
        {
            if (read + 1 < symbols.Count && symbols[read] == left && symbols[read + 1] == right)
            {
                symbols[write++] = left + right;
                read++;
            }
            else symbols[write++] = symbols[read];
        }
        symbols.RemoveRange(write, symbols.Count - write);
    }
}
