using ModelDsl.Runtime.Parameters;
using ModelDsl.Core.Model;
using ModelDsl.Core.Vision;
using ModelDsl.Runtime.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using RmsNorm = ModelDsl.Runtime.Layers.RmsNorm;

namespace ModelDsl.Runtime.Vision;

/// <summary>
/// The image encoder of a <see cref="VisionSpec"/>: patch embedding, Depth non-causal blocks and a
/// final RMSNorm. Images [B, C, H, W] -> patch features [B, N, width].
/// </summary>
public sealed class ImageEncoder : nn.Module<Tensor, Tensor>, IPublishesParameters
{
    private readonly PatchEmbedding patches;
    private readonly ModuleList<EncoderBlock> blocks;
    private readonly RmsNorm finalNorm;

    public ImageEncoder(VisionSpec spec, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(ImageEncoder))
    {
        Spec = spec;
        patches = new PatchEmbedding(spec.ImageSize, spec.Channels, spec.PatchSize, spec.Width, dtype, device);
        blocks = new ModuleList<EncoderBlock>(Enumerable.Range(0, spec.Depth).Select(_ => BuildBlock(spec, dtype, device)).ToArray());
        finalNorm = new RmsNorm(spec.Width, spec.NormEps, dtype, device);
        register_module("patches", patches);
        register_module("blocks", blocks);
        register_module("finalNorm", finalNorm);
    }

    public VisionSpec Spec { get; }
    public IReadOnlyList<EncoderBlock> Blocks => blocks.ToList();

    private static EncoderBlock BuildBlock(VisionSpec spec, ScalarType dtype, Device? device)
    {
        var ff = spec.FeedForward;
        var hidden = ff.EffectiveHidden(spec.Width);
        FeedForwardLayer feedForward = ff.Activation == Activation.SwiGlu
            ? new SwiGluFeedForward(spec.Width, hidden, ff.Bias, dtype, device)
            : new MlpFeedForward(spec.Width, hidden, ff.Activation, ff.Bias, dtype, device);
        return new EncoderBlock(new RmsNorm(spec.Width, spec.NormEps, dtype, device),
            new BidirectionalSelfAttention(spec.Width, spec.Heads, dtype, device),
            new RmsNorm(spec.Width, spec.NormEps, dtype, device), feedForward);
    }

    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        var x = patches.forward(images);
        foreach (var block in blocks) x = block.forward(x);
        return finalNorm.forward(x).MoveToOuterDisposeScope();
    }

    /// <summary>The learned patch positions are an embedding; the blocks publish their own facts.</summary>
    public IEnumerable<ParameterFacts> PublishedParameters =>
        [new("patches.positions", ParameterRole.Embedding), .. blocks.SelectMany((block, i) => block.Under($"blocks.{i}"))];
}
