using System.Buffers.Binary;
using ModelDsl.Runtime.Interop;

namespace ModelDsl.Runtime.Tests.Interop;

/// <summary>
/// The tensors of tests/interop/golden/*.safetensors, built here from the same values that
/// tests/interop/make_golden.py gives the reference implementation (bit patterns spelled out where a
/// literal could round differently).
/// </summary>
internal static class GoldenFiles
{
    public static string Path(string name)
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(System.IO.Path.Combine(directory.FullName, "tests", "interop", "make_golden.py"))) directory = directory.Parent;
        return System.IO.Path.Combine(directory?.FullName ?? throw new DirectoryNotFoundException("tests/interop not found"), "tests", "interop", "golden", name);
    }

    public static SafetensorsTensor[] EveryDtype() =>
    [
        new("weight.f32", SafetensorsDtype.F32, [2, 3], Floats(-1.5f, 0f, -0f, 3.25f, float.PositiveInfinity, BitConverter.Int32BitsToSingle(1))),
        new("bias.f32", SafetensorsDtype.F32, [3], Floats(0.1f, -2f, 1e30f)),
        new("scalar.f32", SafetensorsDtype.F32, [], Floats(2.5f)),
        new("empty.f32", SafetensorsDtype.F32, [0, 4], []),
        new("f64", SafetensorsDtype.F64, [4], Doubles(1.0 / 3.0, -2.5, 1e300, double.Epsilon)),
        // bfloat16 1, -2, 0.5, 1.0078125 and float16 1, -0.5, 65504 as bit patterns.
        new("bf16", SafetensorsDtype.BF16, [2, 2], Halves(0x3F80, 0xC000, 0x3F00, 0x3F81)),
        new("f16", SafetensorsDtype.F16, [3], Halves(0x3C00, 0xB800, 0x7BFF)),
        new("i64", SafetensorsDtype.I64, [2, 2], Longs(-1, 0, 1L << 40, long.MinValue)),
        new("i32", SafetensorsDtype.I32, [3], Ints(-7, 0, int.MaxValue)),
        new("mask", SafetensorsDtype.BOOL, [5], [1, 0, 0, 1, 1]),
    ];

    public static SafetensorsTensor[] NoMetadata() =>
        [new("b", SafetensorsDtype.I32, [3], Ints(1, 2, 3)), new("a", SafetensorsDtype.I32, [3], Ints(4, 5, 6))];

    public static SafetensorsTensor[] MetadataTensors() => [new("x", SafetensorsDtype.F32, [1], Floats(1f))];

    public static readonly Dictionary<string, string> Metadata = new()
    {
        ["quote"] = "say \"hi\"\\ok",
        ["newline"] = "a\nb\tc\u0001",
        ["unicode"] = "\u00e9\u2713\U0001F600",
        ["empty"] = "",
    };

    public static byte[] Floats(params float[] values) => Bytes(values.Length * 4, (span, i) => BinaryPrimitives.WriteSingleLittleEndian(span[(4 * i)..], values[i]), values.Length);
    public static byte[] Doubles(params double[] values) => Bytes(values.Length * 8, (span, i) => BinaryPrimitives.WriteDoubleLittleEndian(span[(8 * i)..], values[i]), values.Length);
    public static byte[] Halves(params ushort[] bits) => Bytes(bits.Length * 2, (span, i) => BinaryPrimitives.WriteUInt16LittleEndian(span[(2 * i)..], bits[i]), bits.Length);
    public static byte[] Longs(params long[] values) => Bytes(values.Length * 8, (span, i) => BinaryPrimitives.WriteInt64LittleEndian(span[(8 * i)..], values[i]), values.Length);
    public static byte[] Ints(params int[] values) => Bytes(values.Length * 4, (span, i) => BinaryPrimitives.WriteInt32LittleEndian(span[(4 * i)..], values[i]), values.Length);

    private delegate void Put(Span<byte> span, int index);

    private static byte[] Bytes(int length, Put put, int count)
    {
        var bytes = new byte[length];
        for (var i = 0; i < count; i++) put(bytes, i);
        return bytes;
    }
}
