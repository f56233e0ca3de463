using ModelDsl.Core.Model;
using ModelDsl.Core.Vision;
using ModelDsl.Runtime.Vision;

namespace ModelDsl.Runtime.Tests.Vision;

/// <summary>Small vision-language specs shared by the vision tests.</summary>
internal static class TinyVision
{
    /// <summary>8x8 images with 2 channels and 4x4 patches (4 patches), one encoder block, an MLP projector.</summary>
    public static VisionLanguageSpec Small(ProjectorKind projector = ProjectorKind.Mlp, int? prefixTokens = null, int depth = 1) => new()
    {
        Vision = new VisionSpec
        {
            ImageSize = 8, Channels = 2, PatchSize = 4, Width = 8, Depth = depth, Heads = 2,
            FeedForward = new DenseFeedForward { Hidden = 12, Activation = Activation.Gelu, Bias = true },
            Projector = projector, ProjectorHidden = projector == ProjectorKind.Mlp ? 10 : null, PrefixTokens = prefixTokens,
            InitStd = 0.3,
        },
        Decoder = ModelSpec.Llama(vocab: 13, width: 12, depth: 2, heads: 2, kvHeads: 1) with { TiedHead = false, MaxSequenceLength = 24 },
    };

    /// <summary>The scene task's model: 32x32 RGB, 8x8 patches pooled to 4 prefix tokens, width 24 decoder.</summary>
    public static VisionLanguageSpec Scenes(int width = 24) => new()
    {
        Vision = new VisionSpec
        {
            ImageSize = 32, Channels = 3, PatchSize = 8, Width = width, Depth = 1, Heads = 2,
            FeedForward = new DenseFeedForward { Hidden = 2 * width, Activation = Activation.Gelu },
            Projector = ProjectorKind.Mlp, PrefixTokens = 16,
        },
        Decoder = ModelSpec.Llama(vocab: SceneVocabulary.Size, width: width, depth: 1, heads: 2) with { MaxSequenceLength = 32 },
    };
}
