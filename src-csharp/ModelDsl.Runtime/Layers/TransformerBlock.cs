using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Layers;

/// <summary>
/// A pre-norm residual block (Xiong et al. 2020): h = x + mixer(norm(x)); y = h + ffn(norm(h)).
/// The mixer and the feed-forward are chosen per block, so stacks can be heterogeneous.
/// </summary>
public sealed class TransformerBlock : nn.Module<Tensor, Tensor>
{
    public TransformerBlock(nn.Module<Tensor, Tensor> attentionNorm, SequenceMixer attention,
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
    public SequenceMixer Attention { get; }
    public nn.Module<Tensor, Tensor> FeedForwardNorm { get; }
    public FeedForwardLayer FeedForward { get; }

    public Tensor Forward(Tensor x, MixerCache? cache, long start, AuxiliaryLosses losses)
    {
        var h = x + Attention.Forward(AttentionNorm.forward(x), cache, start);
        return h + FeedForward.Forward(FeedForwardNorm.forward(h), losses);
    }

    public override Tensor forward(Tensor x) => Forward(x, null, 0, new AuxiliaryLosses());

    /// <summary>Residual-output weights, named relative to this block.</summary>
    /// <summary>Fused weights, named relative to this block, with their row blocks.</summary>
    public IEnumerable<KeyValuePair<string, long[]>> FusedRowBlocks =>
        Attention.FusedRowBlocks.Select(p => KeyValuePair.Create("attention." + p.Key, p.Value))
            .Concat(FeedForward.FusedRowBlocks.Select(p => KeyValuePair.Create("feedForward." + p.Key, p.Value)));

    public IEnumerable<string> ResidualOutputWeights =>
        Attention.ResidualOutputWeights.Select(n => "attention." + n)
            .Concat(FeedForward.ResidualOutputWeights.Select(n => "feedForward." + n));
}
