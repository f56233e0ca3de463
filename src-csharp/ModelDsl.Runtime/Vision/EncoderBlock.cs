using ModelDsl.Runtime.Parameters;
using ModelDsl.Runtime.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Vision;

/// <summary>A pre-norm, non-causal transformer block: h = x + attn(norm(x)); y = h + ffn(norm(h)).</summary>
public sealed class EncoderBlock : nn.Module<Tensor, Tensor>, IPublishesParameters
{
    private readonly RmsNorm attentionNorm;
    private readonly BidirectionalSelfAttention attention;
    private readonly RmsNorm feedForwardNorm;
    private readonly FeedForwardLayer feedForward;

    public EncoderBlock(RmsNorm attentionNorm, BidirectionalSelfAttention attention, RmsNorm feedForwardNorm, FeedForwardLayer feedForward)
        : base(nameof(EncoderBlock))
    {
        this.attentionNorm = attentionNorm;
        this.attention = attention;
        this.feedForwardNorm = feedForwardNorm;
        this.feedForward = feedForward;
        register_module("attentionNorm", attentionNorm);
        register_module("attention", attention);
        register_module("feedForwardNorm", feedForwardNorm);
        register_module("feedForward", feedForward);
    }

    public BidirectionalSelfAttention Attention => attention;
    public FeedForwardLayer FeedForward => feedForward;

    public override Tensor forward(Tensor x)
    {
        // Residual sums with a held alpha (x + y would pass a temporary Scalar 1, see HeldScalars).
        var h = x.add(attention.forward(attentionNorm.forward(x)), HeldScalars.One);
        return h.add(feedForward.forward(feedForwardNorm.forward(h)), HeldScalars.One);
    }

    public IEnumerable<ParameterFacts> PublishedParameters => [.. attention.Under("attention"), .. feedForward.Under("feedForward")];
}
