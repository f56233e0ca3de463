using ModelDsl.Runtime.Interop;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tests.Interop;

/// <summary>TorchSharp tensors to safetensors bytes and back, for every supported dtype.</summary>
public sealed class TensorBytesTests
{
    [Fact]
    public void EveryGoldenTensorBecomesATorchTensorAndBackBitForBit()
    {
        foreach (var expected in GoldenFiles.EveryDtype())
        {
            using var tensor = TensorBytes.ToTensor(expected);
            Assert.Equal(expected.Dtype.ToScalarType(), tensor.dtype);
            Assert.Equal(expected.Shape, tensor.shape);
            var back = TensorBytes.From(expected.Name, tensor);
            Assert.Equal(expected.Data, back.Data);
            Assert.Equal(expected.Shape, back.Shape);
        }
    }

    [Fact]
    public void TheBytesAreTheValues()
    {
        using var bf16 = TensorBytes.ToTensor(GoldenFiles.EveryDtype().Single(t => t.Name == "bf16"));
        Assert.Equal([1.0f, -2.0f, 0.5f, 1.0078125f], bf16.to(ScalarType.Float32).data<float>().ToArray());
        using var i64 = TensorBytes.ToTensor(GoldenFiles.EveryDtype().Single(t => t.Name == "i64"));
        Assert.Equal([-1L, 0L, 1L << 40, long.MinValue], i64.data<long>().ToArray());
        using var mask = TensorBytes.ToTensor(GoldenFiles.EveryDtype().Single(t => t.Name == "mask"));
        Assert.Equal([true, false, false, true, true], mask.data<bool>().ToArray());
    }

    [Fact]
    public void ANonContiguousTensorIsWrittenInRowMajorOrder()
    {
        using var matrix = arange(6, dtype: ScalarType.Float32).reshape(2, 3);
        using var transposed = matrix.t();
        var tensor = TensorBytes.From("t", transposed);
        Assert.Equal(GoldenFiles.Floats(0, 3, 1, 4, 2, 5), tensor.Data);
        Assert.Equal([3L, 2L], tensor.Shape);
    }

    [Fact]
    public void WriteThenReadKeepsEverything()
    {
        var path = Path.Combine(Path.GetTempPath(), $"roundtrip-{Guid.NewGuid():N}.safetensors");
        try
        {
            SafetensorsWriter.Write(path, GoldenFiles.EveryDtype(), [new("k", "v")]);
            var file = SafetensorsReader.Read(path);
            Assert.Equal("v", file.MetadataValue("k"));
            foreach (var expected in GoldenFiles.EveryDtype()) Assert.Equal(expected.Data, file[expected.Name].Data);
            Assert.Equal(0, (new FileInfo(path).Length - file.Tensors.Sum(t => t.Data.LongLength)) % 8);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void TheWriterRefusesDuplicateAndReservedNames()
    {
        var t = new SafetensorsTensor("a", SafetensorsDtype.I32, [1], GoldenFiles.Ints(1));
        Assert.Contains("two tensors are named 'a'", Assert.Throws<SafetensorsFormatException>(() => SafetensorsWriter.ToBytes([t, t])).Message);
        var reserved = new SafetensorsTensor("__metadata__", SafetensorsDtype.I32, [1], GoldenFiles.Ints(1));
        Assert.Throws<SafetensorsFormatException>(() => SafetensorsWriter.ToBytes([reserved]));
        Assert.Throws<ArgumentException>(() => new SafetensorsTensor("b", SafetensorsDtype.F32, [2], new byte[4]));
    }
}
