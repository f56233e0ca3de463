using ModelDsl.Runtime.Parameters;
using TorchSharp;
using static ModelDsl.Runtime.Layers.HeldScalars;
using static TorchSharp.torch;
using ModelDsl.Runtime.Attention;

namespace ModelDsl.Runtime.Layers;

/// <summary>
/// A pre-norm residual block (Xiong et al. 2020): h = x + attention(norm(x)); y = h + ffn(norm(h)).
/// The attention and the feed-forward are chosen per block, so stacks can be heterogeneous.
/// </summary>
public sealed class TransformerBlock : nn.Module<Tensor, Tensor>, IPublishesParameters
{
    public TransformerBlock(nn.Module<Tensor, Tensor> attentionNorm, AttentionLayer attention,
        nn.Module<Tensor, Tensor> feedForwardNorm, FeedForwardLayer feedForward) : base(nameof(TransformerBlock))
    {
        AttentionNorm = attentionNorm;
        Attention = attention;
        FeedForwardNorm = feedForwardNorm;
        FeedForward = feedForward;
        register_module("attentionNorm", attentionNorm);
        register_module("attention", attention);
        register_module("feedForwardNorm", feedForwardNorm);
        register_module("feedForward", feedForward);
    }

    public nn.Module<Tensor, Tensor> AttentionNorm { get; }
    public AttentionLayer Attention { get; }
    public nn.Module<Tensor, Tensor> FeedForwardNorm { get; }
    public FeedForwardLayer FeedForward { get; }

    public Tensor Forward(Tensor x, LayerCache? cache, long start, AuxiliaryLosses losses)
    {
        // Residual sums with a held alpha (x + y would pass a temporary Scalar 1, see HeldScalars).
        var h = x.add(Attention.Forward(AttentionNorm.forward(x), cache, start), One);
        return h.add(FeedForward.Forward(FeedForwardNorm.forward(h), losses), One);
    }

    public override Tensor forward(Tensor x) => Forward(x, null, 0, new AuxiliaryLosses());

    public IEnumerable<ParameterFacts> PublishedParameters => [.. Attention.Under("attention"), .. FeedForward.Under("feedForward")];
}
