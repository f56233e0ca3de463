using System.Buffers.Binary;
using System.Text;
using ModelDsl.Runtime.Interop;

namespace ModelDsl.Runtime.Tests.Interop;

/// <summary>Malformed files are refused with the file's name and the problem, before tensor data is read.</summary>
public sealed class SafetensorsMalformedTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("safetensors-bad-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Theory]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 8)]
    [InlineData("""{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"__metadata__":{"k":"v"}}""", 4)]
    [InlineData("""{"e":{"dtype":"I64","shape":[0,3],"data_offsets":[0,0]}}""", 0)]
    public void AWellFormedHandWrittenFileReads(string header, int dataBytes)
    {
        var file = SafetensorsReader.Read(Write(header, new byte[dataBytes]));
        Assert.Single(file.Tensors);
    }

    [Theory]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}""", 8, "not valid UTF-8 JSON")]
    [InlineData("""[1, 2]""", 0, "not an object")]
    [InlineData("""{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}""", 8, "dtype 'F33' is not a safetensors dtype")]
    [InlineData("""{"a":{"dtype":"U16","shape":[4],"data_offsets":[0,8]}}""", 8, "dtype 'U16' is not supported here")]
    [InlineData("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", 8, "tensor 'a': F32 [3] needs 12 bytes but data_offsets [0, 8] span 8")]
    [InlineData("""{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}}""", 8, "must hold non-negative integers")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}""", 8, "end before they begin")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}}""", 8, "unknown field 'extra'")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2]}}""", 8, "'data_offsets' must be a list [begin, end]")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12, "'a' [0, 8) and 'b' [4, 12) overlap")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}}""", 16, "a gap of 4 bytes before tensor 'b'")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8, "a gap of 4 bytes before tensor 'a'")]
    [InlineData("""{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", 12, "truncated: tensor 'a' ends at byte 16 of the data section, which holds only 12 bytes")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 12, "4 bytes after the last tensor belong to no tensor")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}""", 16, "names 'a' twice")]
    [InlineData("""{"__metadata__":{"k":1}}""", 0, "'__metadata__.k' must be a string")]
    [InlineData("""{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}""", 8, "overflows a byte count")]
    public void AMalformedHeaderIsRefusedNamingTheFileAndTheProblem(string header, int dataBytes, string problem)
    {
        var path = Write(header, new byte[dataBytes]);
        var error = Assert.Throws<SafetensorsFormatException>(() => SafetensorsReader.Read(path));
        Assert.Contains(path, error.Message);
        Assert.Contains(problem, error.Message);
    }

    [Fact]
    public void AHeaderLengthBeyondTheFileIsABadLength()
    {
        var path = Write("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", new byte[8], announcedLength: 1_000_000);
        var error = Assert.Throws<SafetensorsFormatException>(() => SafetensorsReader.ReadHeader(path));
        Assert.Contains("bad header length: 1000000 bytes announced", error.Message);
    }

    [Fact]
    public void AFileShorterThanTheLengthPrefixIsRefused()
    {
        var path = System.IO.Path.Combine(directory, "short.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Contains("shorter than the 8-byte header length", Assert.Throws<SafetensorsFormatException>(() => SafetensorsReader.Read(path)).Message);
    }

    [Fact]
    public void InvalidUtf8InTheHeaderIsRefused()
    {
        var json = Encoding.UTF8.GetBytes("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""");
        json[2] = 0xFF; // inside the name "a"
        var path = WriteBytes(json, new byte[4], json.Length);
        Assert.Contains("not valid UTF-8 JSON", Assert.Throws<SafetensorsFormatException>(() => SafetensorsReader.Read(path)).Message);
    }

    [Fact]
    public void AHugeAnnouncedTensorIsRefusedBeforeAnythingIsAllocated()
    {
        // 2^40 bytes announced in a 100-byte file: refused by the layout check, not by a failed allocation.
        var path = Write("""{"a":{"dtype":"F64","shape":[137438953472],"data_offsets":[0,1099511627776]}}""", new byte[16]);
        var error = Assert.Throws<SafetensorsFormatException>(() => SafetensorsReader.Read(path));
        Assert.Contains("truncated", error.Message);
    }

    private string Write(string header, byte[] data, long? announcedLength = null)
    {
        var json = Encoding.UTF8.GetBytes(header);
        return WriteBytes(json, data, announcedLength ?? json.Length);
    }

    private string WriteBytes(byte[] json, byte[] data, long announcedLength)
    {
        var path = System.IO.Path.Combine(directory, $"f{Guid.NewGuid():N}.safetensors");
        var bytes = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, announcedLength);
        json.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + json.Length);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
