using System.Text.RegularExpressions;

namespace ModelDsl.Runtime.Tokenizers;

/// <summary>
/// How text is cut into words before BPE merges apply: GPT-2's pattern (contractions, letters,
/// digits, other symbols, each optionally led by one space; runs of whitespace). Merges never cross a
/// word boundary, so training and encoding must use the same pattern.
/// </summary>
public static partial class PreTokenization
{
    [GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+")]
    public static partial Regex Gpt2Pattern();

    public static IEnumerable<string> Words(string text)
    {
        foreach (Match match in Gpt2Pattern().Matches(text)) yield return match.Value;
    }
}
