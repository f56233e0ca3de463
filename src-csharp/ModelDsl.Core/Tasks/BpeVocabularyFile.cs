using System.Text.Json;

namespace ModelDsl.Core.Tasks;

/// <summary>
/// The vocabulary file of a byte-level BPE tokenizer (a JSON object mapping each token to its id).
/// The IR reads only its size, so validation can compare it with the model's vocabulary; the tokens
/// themselves are the runtime's business.
/// </summary>
public static class BpeVocabularyFile
{
    /// <summary>Why the file cannot serve as a vocabulary, or null when it can.</summary>
    public static string? Problem(string? path)
    {
        if (string.IsNullOrWhiteSpace(path)) return "a vocabulary file is required by the bpe tokenizer";
        if (!File.Exists(path)) return $"'{Path.GetFullPath(path)}' does not exist";
        try
        {
            Size(path);
            return null;
        }
        catch (InvalidDataException e)
        {
            return e.Message;
        }
    }

    /// <summary>One more than the largest id (ids need not be dense, but the embedding must cover them all).</summary>
    public static int Size(string path)
    {
        var full = Path.GetFullPath(path);
        try
        {
            using var stream = File.OpenRead(full);
            using var document = JsonDocument.Parse(stream);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"'{full}' is not a JSON object of token → id");
            var largest = -1;
            foreach (var entry in document.RootElement.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out var id) || id < 0)
                    throw new InvalidDataException($"'{full}': token '{entry.Name}' has id {entry.Value.GetRawText()}, not a non-negative integer");
                largest = Math.Max(largest, id);
            }
            if (largest < 0) throw new InvalidDataException($"'{full}' holds no tokens");
            return largest + 1;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{full}' is not valid JSON: {e.Message}", e);
        }
    }
}
