using ModelDsl.Runtime.Parameters;
using ModelDsl.Core.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Layers;

/// <summary>The two-layer MLP of the original Transformer: W_down act(W_up x), act = GELU or ReLU.</summary>
public sealed class MlpFeedForward : FeedForwardLayer
{
    private readonly Linear up;
    private readonly Linear down;

    public MlpFeedForward(int width, int hidden, Activation activation, bool bias, ScalarType dtype = ScalarType.Float32, Device? device = null)
        : base(nameof(MlpFeedForward))
    {
        if (width < 1 || hidden < 1) throw new ArgumentException($"feed-forward sizes must be positive (width {width}, hidden {hidden})");
        if (activation is not (Activation.Gelu or Activation.Relu))
            throw new ArgumentException($"the two-layer MLP takes GELU or ReLU, not {activation} (SwiGLU has its own layer)");
        Width = width;
        Hidden = hidden;
        Activation = activation;
        up = nn.Linear(width, hidden, hasBias: bias, device: device, dtype: dtype);
        down = nn.Linear(hidden, width, hasBias: bias, device: device, dtype: dtype);
        register_module("up", up);
        register_module("down", down);
    }

    public int Width { get; }
    public int Hidden { get; }
    public Activation Activation { get; }

    public override Tensor forward(Tensor x)
    {
        var h = up.forward(x);
        return down.forward(Activation == Activation.Gelu ? nn.functional.gelu(h) : nn.functional.relu(h));
    }

    public override IEnumerable<ParameterFacts> PublishedParameters => [new("down.weight") { ResidualOutput = true }];
    public override string Kind => $"{(Activation == Activation.Gelu ? "GELU" : "ReLU")} feed-forward (hidden {Hidden})";
    public override string Shape => $"{Width} -> {Width}";
}
