using ModelDsl.Core.Model;
using ModelDsl.Runtime.Compile;
using ModelDsl.Runtime.Parameters;
using TorchSharp;
using static TorchSharp.torch;
using ModelDsl.Runtime.Variants;

namespace ModelDsl.Runtime.Layers;

/// <summary>
/// The per-token half of a block: [B, T, width] to [B, T, width]. Layers that carry a training
/// loss of their own (mixture-of-experts balance) report it through <see cref="AuxiliaryLosses"/>.
/// </summary>
public abstract class FeedForwardLayer : nn.Module<Tensor, Tensor>, IDescribable, IPublishesParameters
{
    protected FeedForwardLayer(string name) : base(name) { }

    public virtual Tensor Forward(Tensor x, AuxiliaryLosses losses) => forward(x);

    /// <summary>Roles, fused row blocks and residual outputs of this layer's parameters (names relative to it).</summary>
    public abstract IEnumerable<ParameterFacts> PublishedParameters { get; }

    /// <summary>A dense feed-forward: SwiGLU, or a two-layer MLP with GELU or ReLU.</summary>
    [Implements(typeof(DenseFeedForward))]
    public static FeedForwardLayer Build(DenseFeedForward dense, BuildContext context, string path)
    {
        var width = context.Model.Width;
        return dense.Activation == Activation.SwiGlu
            ? new SwiGluFeedForward(width, dense.EffectiveHidden(width), dense.Bias, context.Dtype, context.Device)
            : new MlpFeedForward(width, dense.EffectiveHidden(width), dense.Activation, dense.Bias, context.Dtype, context.Device);
    }

    public abstract string Kind { get; }
    public abstract string Shape { get; }
}
