namespace ModelDsl.Runtime.Interop;

/// <summary>
/// One tensor as a safetensors file holds it: name, dtype, shape and its raw little-endian bytes in
/// row-major order. Independent of any tensor library (see <see cref="TensorBytes"/> for TorchSharp).
/// </summary>
public sealed class SafetensorsTensor
{
    public SafetensorsTensor(string name, SafetensorsDtype dtype, IReadOnlyList<long> shape, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(data);
        if (shape.Any(d => d < 0))
            throw new ArgumentException($"tensor '{name}': shape [{string.Join(", ", shape)}] has a negative dimension");
        var expected = ByteLength(dtype, shape)
            ?? throw new ArgumentException($"tensor '{name}': shape [{string.Join(", ", shape)}] overflows a byte count");
        if (expected != data.LongLength)
            throw new ArgumentException($"tensor '{name}': {dtype.Name()} [{string.Join(", ", shape)}] needs {expected} bytes, got {data.LongLength}");
        Name = name;
        Dtype = dtype;
        Shape = shape.ToArray();
        Data = data;
    }

    public string Name { get; }
    public SafetensorsDtype Dtype { get; }
    public IReadOnlyList<long> Shape { get; }
    public byte[] Data { get; }

    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>Bytes of a tensor of this dtype and shape, or null when the count overflows 64 bits.</summary>
    public static long? ByteLength(SafetensorsDtype dtype, IEnumerable<long> shape)
    {
        try
        {
            return checked(shape.Aggregate(1L, (a, b) => checked(a * b)) * dtype.ElementSize());
        }
        catch (OverflowException)
        {
            return null;
        }
    }

    public override string ToString() => $"{Name}: {Dtype.Name()} [{string.Join(", ", Shape)}]";
}
