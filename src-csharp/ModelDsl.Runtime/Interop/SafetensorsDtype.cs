using static TorchSharp.torch;

namespace ModelDsl.Runtime.Interop;

/// <summary>The element types this reader and writer handle, spelled as in a safetensors header.</summary>
public enum SafetensorsDtype { BOOL, F16, BF16, I32, F32, F64, I64 }

/// <summary>Sizes, names, torch types and the reference writer's order of the supported dtypes.</summary>
public static class SafetensorsDtypes
{
    /// <summary>Every dtype the safetensors format defines, supported or not, in the order of its
    /// reference implementation's type list (rising alignment). The reference writer lays tensors out
    /// by this rank, highest first, then by name, so that every tensor starts aligned to its size.</summary>
    private static readonly string[] FormatOrder =
        ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64"];

    public static string Name(this SafetensorsDtype dtype) => dtype.ToString();

    public static int ElementSize(this SafetensorsDtype dtype) => dtype switch
    {
        SafetensorsDtype.BOOL => 1,
        SafetensorsDtype.F16 or SafetensorsDtype.BF16 => 2,
        SafetensorsDtype.I32 or SafetensorsDtype.F32 => 4,
        SafetensorsDtype.F64 or SafetensorsDtype.I64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a supported safetensors dtype"),
    };

    /// <summary>Position in the format's type list: the writer puts higher ranks first.</summary>
    public static int WriteRank(this SafetensorsDtype dtype) => Array.IndexOf(FormatOrder, dtype.Name());

    /// <summary>The dtype a header spells <paramref name="name"/>; null with the reason when there is none.</summary>
    public static SafetensorsDtype? Parse(string name, out string? problem)
    {
        problem = null;
        if (Enum.TryParse<SafetensorsDtype>(name, ignoreCase: false, out var dtype) && dtype.Name() == name) return dtype;
        problem = Array.IndexOf(FormatOrder, name) >= 0
            ? $"dtype '{name}' is not supported here (supported: {string.Join(", ", Enum.GetNames<SafetensorsDtype>())})"
            : $"dtype '{name}' is not a safetensors dtype";
        return null;
    }

    public static ScalarType ToScalarType(this SafetensorsDtype dtype) => dtype switch
    {
        SafetensorsDtype.BOOL => ScalarType.Bool,
        SafetensorsDtype.F16 => ScalarType.Float16,
        SafetensorsDtype.BF16 => ScalarType.BFloat16,
        SafetensorsDtype.I32 => ScalarType.Int32,
        SafetensorsDtype.F32 => ScalarType.Float32,
        SafetensorsDtype.F64 => ScalarType.Float64,
        SafetensorsDtype.I64 => ScalarType.Int64,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a supported safetensors dtype"),
    };

    public static SafetensorsDtype FromScalarType(ScalarType type) => type switch
    {
        ScalarType.Bool => SafetensorsDtype.BOOL,
        ScalarType.Float16 => SafetensorsDtype.F16,
        ScalarType.BFloat16 => SafetensorsDtype.BF16,
        ScalarType.Int32 => SafetensorsDtype.I32,
        ScalarType.Float32 => SafetensorsDtype.F32,
        ScalarType.Float64 => SafetensorsDtype.F64,
        ScalarType.Int64 => SafetensorsDtype.I64,
        _ => throw new ArgumentException($"a {type} tensor has no safetensors dtype supported here ({string.Join(", ", Enum.GetNames<SafetensorsDtype>())})"),
    };
}
