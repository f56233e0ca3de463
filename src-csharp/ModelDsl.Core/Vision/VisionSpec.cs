using System.Text.Json.Serialization;
using ModelDsl.Core.Model;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Vision;

/// <summary>How the projector maps encoder features to decoder prefix embeddings.</summary>
public enum ProjectorKind
{
    /// <summary>One linear map, encoder width -> decoder width.</summary>
    Linear,
    /// <summary>Linear, GELU, linear (the LLaVA-1.5 projector shape).</summary>
    Mlp,
}

/// <summary>
/// An image encoder and projector that turn an image [C, H, W] into K prefix embeddings of a
/// decoder's width: the image is cut into non-overlapping PatchSize x PatchSize patches, each
/// patch is embedded linearly and given a learned position embedding, the patch sequence passes
/// Depth non-causal pre-norm transformer blocks (bidirectional attention, RMSNorm, a dense
/// feed-forward) and a final RMSNorm, is average-pooled in consecutive groups down to PrefixTokens
/// (null: one prefix token per patch), and the projector maps each to the decoder's width.
/// </summary>
public sealed record VisionSpec
{
    public int ImageSize { get; init; } = 32;
    public int Channels { get; init; } = 3;
    public int PatchSize { get; init; } = 8;
    /// <summary>Width of the encoder's residual stream.</summary>
    public int Width { get; init; } = 32;
    /// <summary>Number of encoder blocks; 0 gives a patch-embedding-only encoder.</summary>
    public int Depth { get; init; } = 1;
    public int Heads { get; init; } = 2;
    /// <summary>The encoder blocks' feed-forward (dense only).</summary>
    public DenseFeedForward FeedForward { get; init; } = new() { Activation = Activation.Gelu };
    public double NormEps { get; init; } = 1e-6;
    public ProjectorKind Projector { get; init; } = ProjectorKind.Mlp;
    /// <summary>Hidden width of the MLP projector; null: the decoder's width.</summary>
    public int? ProjectorHidden { get; init; }
    /// <summary>Number of prefix embeddings K; null: one per patch. Must divide the patch count.</summary>
    public int? PrefixTokens { get; init; }
    /// <summary>Keep the encoder's weights fixed during training.</summary>
    public bool FreezeEncoder { get; init; }
    /// <summary>Keep the projector's weights fixed during training.</summary>
    public bool FreezeProjector { get; init; }
    /// <summary>Standard deviation of the normal initialisation of the encoder's and projector's matrices.</summary>
    public double InitStd { get; init; } = 0.02;

    [JsonIgnore]
    public int PatchesPerSide => PatchSize > 0 ? ImageSize / PatchSize : 0;
    [JsonIgnore]
    public int Patches => PatchesPerSide * PatchesPerSide;
    /// <summary>K, the number of prefix embeddings per image.</summary>
    [JsonIgnore]
    public int EffectivePrefixTokens => PrefixTokens ?? Patches;
    [JsonIgnore]
    public int PatchDimension => Channels * PatchSize * PatchSize;

    public void Validate(Validator v, string path)
    {
        v.Require(ImageSize >= 1, $"{path}.imageSize", $"{ImageSize} must be positive");
        v.Require(Channels >= 1, $"{path}.channels", $"{Channels} must be positive");
        if (PatchSize < 1) v.Fail($"{path}.patchSize", $"{PatchSize} must be positive");
        else if (ImageSize >= 1)
            v.Require(ImageSize % PatchSize == 0, $"{path}.patchSize", $"{PatchSize} does not divide imageSize {ImageSize}");
        v.Require(Width >= 1, $"{path}.width", $"{Width} must be positive");
        v.Require(Depth >= 0, $"{path}.depth", $"{Depth} must be zero or positive");
        if (Depth > 0)
        {
            if (Heads < 1) v.Fail($"{path}.heads", $"{Heads} must be positive");
            else if (Width >= 1) v.Require(Width % Heads == 0, $"{path}.heads", $"{Heads} does not divide width {Width}");
        }
        if (FeedForward is null) v.Fail($"{path}.feedForward", "is missing");
        else if (Depth > 0)
        {
            if (FeedForward.Hidden is { } h) v.Require(h >= 1, $"{path}.feedForward.hidden", $"{h} must be at least 1");
            v.Require(Enum.IsDefined(FeedForward.Activation), $"{path}.feedForward.activation", $"{FeedForward.Activation} is not a known activation");
        }
        v.Positive(NormEps, $"{path}.normEps");
        v.Require(Enum.IsDefined(Projector), $"{path}.projector", $"{Projector} is not a known projector");
        if (ProjectorHidden is { } ph)
        {
            v.Require(ph >= 1, $"{path}.projectorHidden", $"{ph} must be at least 1");
            v.Require(Projector == ProjectorKind.Mlp, $"{path}.projectorHidden", "is only used by the mlp projector");
        }
        if (PrefixTokens is { } k)
        {
            if (k < 1) v.Fail($"{path}.prefixTokens", $"{k} must be positive");
            else if (Patches >= 1 && ImageSize % Math.Max(PatchSize, 1) == 0)
                v.Require(Patches % k == 0, $"{path}.prefixTokens", $"{k} does not divide the {Patches} patches (pooling averages equal groups of consecutive patches)");
        }
        v.Positive(InitStd, $"{path}.initStd");
    }
}
