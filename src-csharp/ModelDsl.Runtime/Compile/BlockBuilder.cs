using ModelDsl.Core.Model;
using ModelDsl.Runtime.Layers;

namespace ModelDsl.Runtime.Compile;

/// <summary>BlockSpec -> transformer block, each part from its own IR node.</summary>
internal static class BlockBuilder
{
    public static TransformerBlock Build(BlockSpec spec, BuildContext context, string path)
    {
        var width = context.Model.Width;
        return new TransformerBlock(
            NormBuilder.Build(spec.Norm, width, context, $"{path}.norm"),
            AttentionBuilder.Build(spec.Attention, spec.Norm, context, $"{path}.attention"),
            NormBuilder.Build(spec.Norm, width, context, $"{path}.norm"),
            FeedForwardBuilder.Build(spec.FeedForward, context, $"{path}.feedForward"));
    }
}
