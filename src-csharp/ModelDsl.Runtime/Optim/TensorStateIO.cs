using static TorchSharp.torch;

namespace ModelDsl.Runtime.Optim;

/// <summary>Exact binary form of a state tensor: element type, shape, then the values widened to
/// float64 (exact for float16/bfloat16/float32/float64) so that reading it back is bit for bit.</summary>
public static class TensorStateIO
{
    public static void Write(BinaryWriter writer, Tensor tensor)
    {
        writer.Write((int)tensor.dtype);
        writer.Write(tensor.dim());
        foreach (var size in tensor.shape) writer.Write(size);
        using var scope = NewDisposeScope();
        var flat = tensor.detach().to(ScalarType.Float64).cpu().contiguous().reshape(-1);
        writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(flat.data<double>().ToArray().AsSpan()));
    }

    public static Tensor Read(BinaryReader reader, Device device)
    {
        var dtype = (ScalarType)reader.ReadInt32();
        var rank = reader.ReadInt64();
        var shape = new long[rank];
        for (var i = 0; i < rank; i++) shape[i] = reader.ReadInt64();
        var count = shape.Aggregate(1L, (a, b) => a * b);
        var bytes = reader.ReadBytes(checked((int)(count * sizeof(double))));
        if (bytes.Length != count * sizeof(double)) throw new EndOfStreamException("optimizer state ends inside a tensor");
        var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(bytes).ToArray();
        using var scope = NewDisposeScope();
        return tensor(values, ScalarType.Float64).reshape(shape).to(dtype, device).MoveToOuterDisposeScope();
    }
}
