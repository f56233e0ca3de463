using System.Text.Json;

namespace ModelDsl.Runtime.Interop;

/// <summary>Where one tensor lies: [Begin, End) in bytes from the start of the data section.</summary>
public sealed record SafetensorsEntry(string Name, SafetensorsDtype Dtype, IReadOnlyList<long> Shape, long Begin, long End);

/// <summary>
/// A parsed and fully checked safetensors header: the entries sorted by offset, the metadata in file
/// order, and where the data section starts. Parsing checks everything that can be checked without
/// reading tensor data: the JSON, each entry's fields, that shape x dtype size equals the byte range,
/// and that the ranges tile the data section exactly (no overlap, no gap, nothing missing or extra).
/// </summary>
public sealed record SafetensorsHeader(IReadOnlyList<SafetensorsEntry> Entries, IReadOnlyList<KeyValuePair<string, string>> Metadata,
    long DataStart, long DataLength)
{
    public const string MetadataKey = "__metadata__";

    /// <summary>Parses the header JSON of <paramref name="file"/>, whose data section holds <paramref name="dataLength"/> bytes.</summary>
    public static SafetensorsHeader Parse(string file, ReadOnlyMemory<byte> json, long dataLength)
    {
        if (!System.Text.Unicode.Utf8.IsValid(json.Span))
            throw new SafetensorsFormatException(file, "the header is not valid UTF-8 JSON (it holds bytes that are not UTF-8)");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow });
        }
        catch (JsonException e)
        {
            throw new SafetensorsFormatException(file, $"the header is not valid UTF-8 JSON ({e.Message})", e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new SafetensorsFormatException(file, $"the header is a JSON {root.ValueKind.ToString().ToLowerInvariant()}, not an object");
            var entries = new List<SafetensorsEntry>();
            var metadata = new List<KeyValuePair<string, string>>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                    throw new SafetensorsFormatException(file, $"the header names '{property.Name}' twice");
                if (property.Name == MetadataKey) metadata.AddRange(ParseMetadata(file, property.Value));
                else entries.Add(ParseEntry(file, property.Name, property.Value));
            }
            var ordered = entries.OrderBy(e => e.Begin).ThenBy(e => e.End).ToList();
            CheckLayout(file, ordered, dataLength);
            return new SafetensorsHeader(ordered, metadata, 0, dataLength);
        }
    }

    private static IEnumerable<KeyValuePair<string, string>> ParseMetadata(string file, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new SafetensorsFormatException(file, $"'{MetadataKey}' must be an object of strings, got a {value.ValueKind.ToString().ToLowerInvariant()}");
        var keys = new HashSet<string>(StringComparer.Ordinal);
        var pairs = new List<KeyValuePair<string, string>>();
        foreach (var item in value.EnumerateObject())
        {
            if (!keys.Add(item.Name))
                throw new SafetensorsFormatException(file, $"'{MetadataKey}' names '{item.Name}' twice");
            if (item.Value.ValueKind != JsonValueKind.String)
                throw new SafetensorsFormatException(file, $"'{MetadataKey}.{item.Name}' must be a string, got a {item.Value.ValueKind.ToString().ToLowerInvariant()}");
            pairs.Add(new(item.Name, item.Value.GetString()!));
        }
        return pairs;
    }

    private static SafetensorsEntry ParseEntry(string file, string name, JsonElement value)
    {
        string Where(string what) => $"tensor '{name}': {what}";
        if (value.ValueKind != JsonValueKind.Object)
            throw new SafetensorsFormatException(file, Where($"its entry must be an object with dtype, shape and data_offsets, got a {value.ValueKind.ToString().ToLowerInvariant()}"));
        foreach (var field in value.EnumerateObject())
            if (field.Name is not ("dtype" or "shape" or "data_offsets"))
                throw new SafetensorsFormatException(file, Where($"unknown field '{field.Name}' (an entry has dtype, shape and data_offsets)"));
        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw new SafetensorsFormatException(file, Where("'dtype' is missing or not a string"));
        var dtype = SafetensorsDtypes.Parse(dtypeElement.GetString()!, out var dtypeProblem)
                    ?? throw new SafetensorsFormatException(file, Where(dtypeProblem!));
        if (!value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw new SafetensorsFormatException(file, Where("'shape' is missing or not a list"));
        var shape = new List<long>();
        foreach (var dimension in shapeElement.EnumerateArray())
        {
            if (dimension.ValueKind != JsonValueKind.Number || !dimension.TryGetInt64(out var d) || d < 0)
                throw new SafetensorsFormatException(file, Where($"shape {shapeElement.GetRawText()} must hold non-negative integers"));
            shape.Add(d);
        }
        if (!value.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
            throw new SafetensorsFormatException(file, Where("'data_offsets' must be a list [begin, end]"));
        if (!TryOffset(offsets[0], out var begin) || !TryOffset(offsets[1], out var end))
            throw new SafetensorsFormatException(file, Where($"data_offsets {offsets.GetRawText()} must be non-negative integers"));
        if (end < begin)
            throw new SafetensorsFormatException(file, Where($"data_offsets [{begin}, {end}] end before they begin"));
        var bytes = SafetensorsTensor.ByteLength(dtype, shape)
                    ?? throw new SafetensorsFormatException(file, Where($"shape [{string.Join(", ", shape)}] overflows a byte count"));
        if (bytes != end - begin)
            throw new SafetensorsFormatException(file, Where($"{dtype.Name()} [{string.Join(", ", shape)}] needs {bytes} bytes but data_offsets [{begin}, {end}] span {end - begin}"));
        return new SafetensorsEntry(name, dtype, shape, begin, end);
    }

    private static bool TryOffset(JsonElement element, out long offset)
    {
        offset = 0;
        return element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out offset) && offset >= 0;
    }

    /// <summary>The byte ranges, sorted by offset, must tile [0, dataLength) exactly.</summary>
    private static void CheckLayout(string file, IReadOnlyList<SafetensorsEntry> ordered, long dataLength)
    {
        long position = 0;
        SafetensorsEntry? previous = null;
        foreach (var entry in ordered)
        {
            if (entry.Begin < position)
                throw new SafetensorsFormatException(file, $"tensors '{previous!.Name}' [{previous.Begin}, {previous.End}) and '{entry.Name}' [{entry.Begin}, {entry.End}) overlap");
            if (entry.Begin > position)
                throw new SafetensorsFormatException(file, $"a gap of {entry.Begin - position} bytes before tensor '{entry.Name}' (data offsets {position}..{entry.Begin} belong to no tensor)");
            if (entry.End > dataLength)
                throw new SafetensorsFormatException(file, $"truncated: tensor '{entry.Name}' ends at byte {entry.End} of the data section, which holds only {dataLength} bytes");
            position = entry.End;
            previous = entry;
        }
        if (position < dataLength)
            throw new SafetensorsFormatException(file, $"{dataLength - position} bytes after the last tensor belong to no tensor (the data section holds {dataLength} bytes, the tensors {position})");
    }
}
