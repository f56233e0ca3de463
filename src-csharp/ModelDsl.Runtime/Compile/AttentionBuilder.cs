using ModelDsl.Runtime.Variants;
using ModelDsl.Core.Model;
using ModelDsl.Runtime.Attention;

namespace ModelDsl.Runtime.Compile;

/// <summary>AttentionSpec -> attention layer. The position encoding decides the attention core.</summary>
internal static class AttentionBuilder
{
    public static AttentionLayer Build(AttentionSpec spec, NormSpec blockNorm, BuildContext context, string path)
    {
        var model = context.Model;
        double? qkNormEps = spec.QkNorm ? NormBuilder.Epsilon(blockNorm, path) : null;
        return new CausalSelfAttention(model.Width, BuildCore(spec, context, path), spec.Bias, qkNormEps,
            context.Dtype, context.Device, spec.Gate);
    }

    /// <summary>The core registered for the position encoding's kind, built from (position, attention, context).</summary>
    private static AttentionCore BuildCore(AttentionSpec spec, BuildContext context, string path) =>
        Implementations.Build<AttentionCore>(spec.Position, $"{path}.position", spec, context);
}
