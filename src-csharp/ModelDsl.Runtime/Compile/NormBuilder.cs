using ModelDsl.Core.Model;
using TorchSharp;
using static TorchSharp.torch;
using RmsNormSpec = ModelDsl.Core.Model.RmsNorm;

namespace ModelDsl.Runtime.Compile;

/// <summary>NormSpec -> norm module.</summary>
internal static class NormBuilder
{
    public static nn.Module<Tensor, Tensor> Build(NormSpec spec, long dimension, BuildContext context, string path) => spec switch
    {
        RmsNormSpec rms => new Layers.RmsNorm(dimension, rms.Eps, context.Dtype, context.Device),
        _ => throw new NotSupportedException($"{path}: the runtime has no layer for norm '{spec.GetType().Name}'"),
    };

    /// <summary>The epsilon a norm spec uses, for QK-norm inside attention.</summary>
    public static double Epsilon(NormSpec spec, string path) => spec switch
    {
        RmsNormSpec rms => rms.Eps,
        _ => throw new NotSupportedException($"{path}: QK-norm is built as RMSNorm; '{spec.GetType().Name}' has no RMSNorm epsilon"),
    };
}
