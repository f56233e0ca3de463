using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Interop;

/// <summary>Copies between TorchSharp tensors and <see cref="SafetensorsTensor"/>s (bytes, bit for bit).</summary>
public static class TensorBytes
{
    /// <summary>The tensor's elements in row-major order as a safetensors tensor (copied to the CPU).</summary>
    public static SafetensorsTensor From(string name, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var dtype = SafetensorsDtypes.FromScalarType(tensor.dtype);
        using var scope = NewDisposeScope();
        var host = tensor.detach().cpu().contiguous();
        var data = host.numel() == 0 ? [] : host.bytes.ToArray();
        return new SafetensorsTensor(name, dtype, tensor.shape, data);
    }

    /// <summary>A new CPU tensor with the safetensors tensor's dtype, shape and bytes.</summary>
    public static Tensor ToTensor(SafetensorsTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var result = empty(tensor.Shape.ToArray(), dtype: tensor.Dtype.ToScalarType());
        if (tensor.Data.Length > 0) result.bytes = tensor.Data;
        return result;
    }
}
