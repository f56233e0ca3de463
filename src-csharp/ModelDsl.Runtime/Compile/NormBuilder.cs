using ModelDsl.Runtime.Variants;
using ModelDsl.Core.Model;
using TorchSharp;
using static TorchSharp.torch;
using RmsNormSpec = ModelDsl.Core.Model.RmsNorm;

namespace ModelDsl.Runtime.Compile;

/// <summary>NormSpec -> norm module.</summary>
internal static class NormBuilder
{
    /// <summary>The layer registered for the norm's kind, built from (spec, dimension, context).</summary>
    public static nn.Module<Tensor, Tensor> Build(NormSpec spec, long dimension, BuildContext context, string path) =>
        Implementations.Build<nn.Module<Tensor, Tensor>>(spec, path, dimension, context);

    /// <summary>The epsilon a norm spec uses, for QK-norm inside attention.</summary>
    public static double Epsilon(NormSpec spec, string path) => spec switch
    {
        RmsNormSpec rms => rms.Eps,
        _ => throw new NotSupportedException($"{path}: QK-norm is built as RMSNorm; '{spec.GetType().Name}' has no RMSNorm epsilon"),
    };
}
