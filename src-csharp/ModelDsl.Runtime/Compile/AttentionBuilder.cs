using ModelDsl.Core.Model;
using ModelDsl.Runtime.Layers;

namespace ModelDsl.Runtime.Compile;

/// <summary>AttentionSpec -> sequence mixer. The position encoding decides the layer.</summary>
internal static class AttentionBuilder
{
    public static SequenceMixer Build(AttentionSpec spec, NormSpec blockNorm, BuildContext context, string path)
    {
        var model = context.Model;
        var headDim = spec.EffectiveHeadDim(model.Width);
        double? qkNormEps = spec.QkNorm ? NormBuilder.Epsilon(blockNorm, path) : null;
        var rotary = spec.Position switch
        {
            Rope rope => new RotaryEmbedding(headDim, model.MaxSequenceLength, rope.Theta, context.Dtype, context.Device),
            NoPosition => null,
            var other => throw new NotSupportedException($"{path}.position: the runtime has no layer for position encoding '{other.GetType().Name}'"),
        };
        return new CausalSelfAttention(model.Width, spec.Heads, spec.EffectiveKvHeads, headDim, spec.Bias, rotary, qkNormEps,
            context.Dtype, context.Device);
    }
}
