namespace ModelDsl.Runtime.Vision;

/// <summary>
/// The word vocabulary of the scene captions and questions: one token per word. Captions read
/// "describe : two large red circle at left &lt;eos&gt;"; questions "what color ? red &lt;eos&gt;".
/// </summary>
public static class SceneVocabulary
{
    public static readonly IReadOnlyList<string> Words =
    [
        "<pad>", "<bos>", "<eos>", "describe", ":", "what", "color", "shape", "size", "where", "how", "many", "?", "at",
        "one", "two", "three",
        "small", "large",
        "red", "green", "blue", "yellow",
        "circle", "square", "triangle",
        "left", "right", "top", "bottom",
    ];

    private static readonly Dictionary<string, long> Ids = Words.Select((w, i) => (w, (long)i)).ToDictionary(p => p.w, p => p.Item2, StringComparer.Ordinal);

    public static int Size => Words.Count;
    public static long Pad => Id("<pad>");
    public static long Bos => Id("<bos>");
    public static long Eos => Id("<eos>");

    public static long Id(string word) =>
        Ids.TryGetValue(word, out var id) ? id : throw new ArgumentException($"'{word}' is not in the scene vocabulary", nameof(word));

    public static long[] Encode(string text) => text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(Id).ToArray();

    public static string Decode(IEnumerable<long> tokens) =>
        string.Join(" ", tokens.Select(t => t >= 0 && t < Words.Count ? Words[(int)t] : $"<{t}?>"));

    public static string Word(SceneShape shape) => shape.ToString().ToLowerInvariant();
    public static string Word(SceneColor color) => color.ToString().ToLowerInvariant();
    public static string Word(SceneSize size) => size.ToString().ToLowerInvariant();
    public static string Word(ScenePosition position) => position.ToString().ToLowerInvariant();
    public static string CountWord(int count) => count switch
    {
        1 => "one",
        2 => "two",
        3 => "three",
        _ => throw new ArgumentOutOfRangeException(nameof(count), count, "scenes hold one to three objects"),
    };
}
