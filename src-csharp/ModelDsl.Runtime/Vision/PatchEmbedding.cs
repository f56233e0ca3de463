using ModelDsl.Runtime.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Vision;

/// <summary>
/// Cuts images [B, C, H, W] into non-overlapping p x p patches in row-major order, flattens each
/// to C*p*p values (channel-major, then rows, then columns), maps it linearly to the encoder width
/// and adds a learned embedding of its position (ViT, Dosovitskiy et al. 2021 eq. 1).
/// </summary>
public sealed class PatchEmbedding : nn.Module<Tensor, Tensor>
{
    private readonly Linear projection;
    private readonly Parameter positions;

    public PatchEmbedding(int imageSize, int channels, int patchSize, int width, ScalarType dtype = ScalarType.Float32, Device? device = null)
        : base(nameof(PatchEmbedding))
    {
        if (patchSize < 1 || imageSize % patchSize != 0)
            throw new ArgumentException($"patch size {patchSize} must divide the image size {imageSize}");
        ImageSize = imageSize;
        Channels = channels;
        PatchSize = patchSize;
        Width = width;
        var side = imageSize / patchSize;
        Patches = side * side;
        projection = nn.Linear(channels * patchSize * patchSize, width, hasBias: true, device: device, dtype: dtype);
        positions = new Parameter(torch.zeros([Patches, width], dtype: dtype, device: device), requires_grad: true);
        register_module("projection", projection);
        register_parameter("positions", positions);
    }

    public int ImageSize { get; }
    public int Channels { get; }
    public int PatchSize { get; }
    public int Width { get; }
    public int Patches { get; }

    /// <summary>Images [B, C, H, W] -> flattened patches [B, N, C*p*p], N = (H/p)(W/p), row-major.</summary>
    public static Tensor Patchify(Tensor images, int patchSize)
    {
        var (batch, channels) = (images.shape[0], images.shape[1]);
        using var scope = NewDisposeScope();
        // [B, C, H/p, W/p, p, p] -> [B, H/p, W/p, C, p, p]
        var blocks = images.unfold(2, patchSize, patchSize).unfold(3, patchSize, patchSize).permute(0, 2, 3, 1, 4, 5);
        return blocks.reshape(batch, -1, channels * patchSize * patchSize).MoveToOuterDisposeScope();
    }

    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        return projection.forward(Patchify(images, PatchSize)).add(positions, HeldScalars.One).MoveToOuterDisposeScope();
    }
}
