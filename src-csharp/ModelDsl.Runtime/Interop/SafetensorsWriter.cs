using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using ModelDsl.Runtime.Runs;

namespace ModelDsl.Runtime.Interop;

/// <summary>
/// Writes safetensors files byte for byte as the reference implementation (huggingface/safetensors)
/// does: tensors ordered by dtype rank, highest first (so each starts aligned to its element size),
/// then by name (UTF-8 bytes); the header is compact JSON with "__metadata__" first, padded with
/// spaces to a multiple of 8 bytes; the data follows without gaps. Metadata is written in the order
/// given (the reference writer's order for several keys is that of a hash map, i.e. unspecified).
/// </summary>
public static class SafetensorsWriter
{
    /// <summary>Writes atomically: an existing file at <paramref name="path"/> stays intact if anything fails.</summary>
    public static void Write(string path, IEnumerable<SafetensorsTensor> tensors, IEnumerable<KeyValuePair<string, string>>? metadata = null)
    {
        var (header, ordered) = Prepare(path, tensors, metadata);
        AtomicFile.Write(path, stream =>
        {
            stream.Write(header);
            foreach (var tensor in ordered) stream.Write(tensor.Data);
        });
    }

    /// <summary>The whole file as bytes.</summary>
    public static byte[] ToBytes(IEnumerable<SafetensorsTensor> tensors, IEnumerable<KeyValuePair<string, string>>? metadata = null)
    {
        var (header, ordered) = Prepare("(in memory)", tensors, metadata);
        using var stream = new MemoryStream();
        stream.Write(header);
        foreach (var tensor in ordered) stream.Write(tensor.Data);
        return stream.ToArray();
    }

    /// <summary>The length prefix and padded header, and the tensors in the order their data follows.</summary>
    private static (byte[] Header, IReadOnlyList<SafetensorsTensor> Ordered) Prepare(string file, IEnumerable<SafetensorsTensor> tensors,
        IEnumerable<KeyValuePair<string, string>>? metadata)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var list = tensors.ToList();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var tensor in list)
        {
            if (tensor.Name == SafetensorsHeader.MetadataKey)
                throw new SafetensorsFormatException(file, $"a tensor cannot be named '{SafetensorsHeader.MetadataKey}'");
            if (!names.Add(tensor.Name))
                throw new SafetensorsFormatException(file, $"two tensors are named '{tensor.Name}'");
        }
        var metadataList = metadata?.ToList();
        if (metadataList is not null && metadataList.Select(p => p.Key).Distinct(StringComparer.Ordinal).Count() != metadataList.Count)
            throw new SafetensorsFormatException(file, "a metadata key is given twice");

        var ordered = list.OrderByDescending(t => t.Dtype.WriteRank())
            .ThenBy(t => Encoding.UTF8.GetBytes(t.Name), ByteOrder.Instance).ToList();
        var json = new StringBuilder("{");
        if (metadataList is not null)
        {
            json.Append(Quote(SafetensorsHeader.MetadataKey)).Append(":{");
            json.AppendJoin(',', metadataList.Select(p => Quote(p.Key) + ":" + Quote(p.Value)));
            json.Append('}');
            if (ordered.Count > 0) json.Append(',');
        }
        long offset = 0;
        json.AppendJoin(',', ordered.Select(t =>
        {
            var begin = offset;
            offset += t.Data.LongLength;
            return $"{Quote(t.Name)}:{{\"dtype\":\"{t.Dtype.Name()}\",\"shape\":[{string.Join(',', t.Shape.Select(d => d.ToString(CultureInfo.InvariantCulture)))}]," +
                   $"\"data_offsets\":[{begin.ToString(CultureInfo.InvariantCulture)},{offset.ToString(CultureInfo.InvariantCulture)}]}}";
        }));
        json.Append('}');
        var text = Encoding.UTF8.GetBytes(json.ToString());
        var padded = (text.Length + 7) / 8 * 8;
        var header = new byte[8 + padded];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)padded);
        text.CopyTo(header, 8);
        header.AsSpan(8 + text.Length).Fill((byte)' ');
        return (header, ordered);
    }

    /// <summary>A JSON string as serde_json writes it: only quote, backslash and control characters
    /// are escaped (the short forms where JSON has them, else \u00xx in lowercase hex); everything
    /// else, non-ASCII included, is written as UTF-8.</summary>
    internal static string Quote(string value)
    {
        var builder = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
            builder.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\b' => "\\b",
                '\f' => "\\f",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                < ' ' => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        return builder.Append('"').ToString();
    }

    /// <summary>Lexicographic order of byte strings (Rust's ordering of String).</summary>
    private sealed class ByteOrder : IComparer<byte[]>
    {
        public static readonly ByteOrder Instance = new();
        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y.AsSpan());
    }
}
