using ModelDsl.Core.Model;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Compile;

/// <summary>What every builder needs besides its own IR node: the enclosing model, the element
/// type and the device the tensors are created on.</summary>
public sealed record BuildContext(ModelSpec Model, ScalarType Dtype, Device Device);
