using ModelDsl.Core.Model;
using ModelDsl.Runtime.Layers;

namespace ModelDsl.Runtime.Compile;

/// <summary>FeedForwardSpec -> feed-forward layer.</summary>
internal static class FeedForwardBuilder
{
    public static FeedForwardLayer Build(FeedForwardSpec spec, BuildContext context, string path)
    {
        var width = context.Model.Width;
        return spec switch
        {
            DenseFeedForward { Activation: Activation.SwiGlu } dense =>
                new SwiGluFeedForward(width, dense.EffectiveHidden(width), dense.Bias, context.Dtype, context.Device),
            DenseFeedForward dense =>
                new MlpFeedForward(width, dense.EffectiveHidden(width), dense.Activation, dense.Bias, context.Dtype, context.Device),
            MoeFeedForward moe => new MixtureOfExpertsFeedForward(moe, width, path, context.Dtype, context.Device),
            _ => throw new NotSupportedException($"{path}: the runtime has no layer for feed-forward '{spec.GetType().Name}'"),
        };
    }
}
