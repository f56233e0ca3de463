using ModelDsl.Core.Model;
using ModelDsl.Runtime.Layers;

namespace ModelDsl.Runtime.Compile;

/// <summary>AttentionSpec -> sequence mixer. The position encoding decides the attention core.</summary>
internal static class AttentionBuilder
{
    public static SequenceMixer Build(AttentionSpec spec, NormSpec blockNorm, BuildContext context, string path)
    {
        var model = context.Model;
        double? qkNormEps = spec.QkNorm ? NormBuilder.Epsilon(blockNorm, path) : null;
        return new CausalSelfAttention(model.Width, BuildCore(spec, context, path), spec.Bias, qkNormEps,
            context.Dtype, context.Device, spec.Gate);
    }

    private static AttentionCore BuildCore(AttentionSpec spec, BuildContext context, string path)
    {
        var model = context.Model;
        var headDim = spec.EffectiveHeadDim(model.Width);
        return spec.Position switch
        {
            Rope rope => new DotProductAttentionCore(spec.Heads, spec.EffectiveKvHeads, headDim,
                new RotaryEmbedding(headDim, model.MaxSequenceLength, rope.Theta, context.Dtype, context.Device)),
            NoPosition => new DotProductAttentionCore(spec.Heads, spec.EffectiveKvHeads, headDim, rotary: null),
            PathPosition pathSpec => new PathAttentionCore(model.Width, spec.Heads, spec.EffectiveKvHeads, headDim, pathSpec.LowRank,
                pathSpec.ShortConvKernel ?? 0, pathSpec.ForgetGate, context.Dtype, context.Device),
            var other => throw new NotSupportedException($"{path}.position: the runtime has no attention core for position encoding '{other.GetType().Name}'"),
        };
    }
}
