using System.Buffers.Binary;

namespace ModelDsl.Runtime.Interop;

/// <summary>
/// Reads safetensors files: an 8-byte little-endian header length N, N bytes of UTF-8 JSON, then the
/// tensors' raw bytes. The whole header is checked (<see cref="SafetensorsHeader.Parse"/>) against the
/// file's length before any tensor is read or allocated. Nothing in the file is ever executed.
/// </summary>
public static class SafetensorsReader
{
    /// <summary>The reference implementation's limit on the header; a larger one is a corrupt length.</summary>
    public const long MaxHeaderLength = 100_000_000;

    /// <summary>The checked header of <paramref name="path"/>, without reading tensor data.</summary>
    public static SafetensorsHeader ReadHeader(string path)
    {
        using var stream = Open(path);
        return ReadHeader(path, stream);
    }

    /// <summary>Every tensor and the metadata of <paramref name="path"/>.</summary>
    public static SafetensorsFile Read(string path)
    {
        using var stream = Open(path);
        var header = ReadHeader(path, stream);
        var tensors = new List<SafetensorsTensor>(header.Entries.Count);
        foreach (var entry in header.Entries)
        {
            var length = entry.End - entry.Begin;
            if (length > Array.MaxLength)
                throw new SafetensorsFormatException(path, $"tensor '{entry.Name}' holds {length} bytes, more than one array can hold");
            var data = new byte[length];
            stream.Seek(header.DataStart + entry.Begin, SeekOrigin.Begin);
            stream.ReadExactly(data);
            tensors.Add(new SafetensorsTensor(entry.Name, entry.Dtype, entry.Shape, data));
        }
        return new SafetensorsFile(tensors, header.Metadata);
    }

    private static FileStream Open(string path)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("safetensors data is little-endian; this reader runs on little-endian machines only");
        if (!File.Exists(path)) throw new SafetensorsFormatException(path, "no such file");
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
    }

    private static SafetensorsHeader ReadHeader(string path, FileStream stream)
    {
        var fileLength = stream.Length;
        if (fileLength < 8)
            throw new SafetensorsFormatException(path, $"{fileLength} bytes: shorter than the 8-byte header length that starts the format");
        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        var announced = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (announced > (ulong)(fileLength - 8))
            throw new SafetensorsFormatException(path, $"bad header length: {announced} bytes announced but only {fileLength - 8} follow the length prefix");
        if (announced > MaxHeaderLength)
            throw new SafetensorsFormatException(path, $"bad header length: {announced} bytes is over the format's limit of {MaxHeaderLength}");
        if (announced < 2)
            throw new SafetensorsFormatException(path, $"bad header length: {announced} bytes cannot hold a JSON object");
        var json = new byte[announced];
        stream.ReadExactly(json);
        var dataStart = 8 + (long)announced;
        return SafetensorsHeader.Parse(path, json, fileLength - dataStart) with { DataStart = dataStart };
    }
}
