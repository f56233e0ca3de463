using ModelDsl.Runtime.Parameters;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Vision;

/// <summary>
/// Multi-head self-attention without a mask (every patch sees every patch, as in ViT, Dosovitskiy
/// et al. 2021 eq. 2): softmax(Q K^T / sqrt(d)) V with q, k, v from one fused projection and no
/// position encoding of its own (the patch embedding adds learned positions).
/// </summary>
public sealed class BidirectionalSelfAttention : nn.Module<Tensor, Tensor>, IPublishesParameters
{
    private readonly Linear qkv;
    private readonly Linear output;

    public BidirectionalSelfAttention(int width, int heads, ScalarType dtype = ScalarType.Float32, Device? device = null)
        : base(nameof(BidirectionalSelfAttention))
    {
        if (width < 1 || heads < 1 || width % heads != 0)
            throw new ArgumentException($"attention needs heads ({heads}) dividing a positive width ({width})");
        Width = width;
        Heads = heads;
        qkv = nn.Linear(width, 3 * width, hasBias: false, device: device, dtype: dtype);
        output = nn.Linear(width, width, hasBias: false, device: device, dtype: dtype);
        register_module("qkv", qkv);
        register_module("output", output);
    }

    public int Width { get; }
    public int Heads { get; }
    public int HeadDim => Width / Heads;

    /// <summary>x [B, N, width] -> [B, N, width].</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (batch, length) = (x.shape[0], x.shape[1]);
        var parts = qkv.forward(x).view(batch, length, 3, Heads, HeadDim).permute(2, 0, 3, 1, 4);
        var attended = nn.functional.scaled_dot_product_attention(parts[0], parts[1], parts[2]);
        return output.forward(attended.transpose(1, 2).reshape(batch, length, Width)).MoveToOuterDisposeScope();
    }

    /// <summary>The fused [q | k | v] rows, for matrix optimizers.</summary>
    public IEnumerable<ParameterFacts> PublishedParameters =>
        [new("qkv.weight") { RowBlocks = [Width, Width, Width] }, new("output.weight") { ResidualOutput = true }];
}
