using ModelDsl.Core.Vision;
using TorchSharp;
using static TorchSharp.torch;
using ModelDsl.Runtime.Model;
using ModelDsl.Runtime.Parameters;

namespace ModelDsl.Runtime.Vision;

/// <summary>
/// An image encoder and projector feeding K prefix embeddings to a decoder <see cref="LanguageModel"/>.
/// With an image the decoder reads [prefix(image), tokens] (tokens at positions K..); without one
/// it reads the tokens alone, exactly as the text-only decoder does. Built by <see cref="VisionModelCompiler.Build"/>.
/// </summary>
public sealed class VisionLanguageModel : nn.Module
{
    private readonly ImageEncoder encoder;
    private readonly VisionProjector projector;
    private readonly LanguageModel decoder;

    internal VisionLanguageModel(VisionLanguageSpec spec, ImageEncoder encoder, VisionProjector projector, LanguageModel decoder)
        : base(nameof(VisionLanguageModel))
    {
        Spec = spec;
        this.encoder = encoder;
        this.projector = projector;
        this.decoder = decoder;
        register_module("encoder", encoder);
        register_module("projector", projector);
        register_module("decoder", decoder);
    }

    public VisionLanguageSpec Spec { get; }
    public ImageEncoder Encoder => encoder;
    public VisionProjector Projector => projector;
    public LanguageModel Decoder => decoder;
    /// <summary>K, the number of prefix positions an image takes.</summary>
    public int PrefixTokens => Spec.Vision.EffectivePrefixTokens;
    public ScalarType Dtype => decoder.Dtype;
    public Device Device => decoder.Device;

    /// <summary>Images [B, C, H, W] (any floating dtype; cast to the model's) -> prefix embeddings [B, K, decoder width].</summary>
    public Tensor Prefix(Tensor images)
    {
        CheckImages(images);
        using var scope = NewDisposeScope();
        var input = images.to(Dtype, Device);
        return projector.forward(encoder.forward(input)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The forward pass: logits [B, T, vocab] of the tokens [B, T], conditioned on the images when
    /// given (null: no image, no prefix). With a cache, the images belong to the first call only
    /// (the prefix then sits in the cache) and the pass runs without autograd, as the decoder's does.
    /// </summary>
    public ModelOutput Run(Tensor? images, Tensor tokens, KvCache? cache = null)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (images is null) return decoder.Run(tokens, cache);
        if (images.dim() == 4 && images.shape[0] != tokens.shape[0])
            throw new ArgumentException($"{images.shape[0]} images for a batch of {tokens.shape[0]} token sequences", nameof(images));
        using var noGrad = cache is null ? null : torch.no_grad();
        using var prefix = Prefix(images);
        return decoder.Run(tokens, prefix, cache);
    }

    /// <summary>The decoder pass with prefix embeddings [B, K, decoder width] already computed by
    /// <see cref="Prefix"/> (null: no image), so that one image can condition several texts.</summary>
    public ModelOutput RunWithPrefix(Tensor? prefix, Tensor tokens, KvCache? cache = null)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        return prefix is null ? decoder.Run(tokens, cache) : decoder.Run(tokens, prefix, cache);
    }

    /// <summary>Logits [B, T, vocab]; see <see cref="Run"/>.</summary>
    public Tensor Forward(Tensor? images, Tensor tokens, KvCache? cache = null) => Run(images, tokens, cache).Logits;

    /// <summary>An empty KV cache for sequences of up to <paramref name="capacity"/> positions, the K prefix positions included.</summary>
    public KvCache NewCache(int batch, int capacity) => decoder.NewCache(batch, capacity);

    /// <summary>
    /// Every trainable parameter exactly once, with its role: the decoder's as
    /// <see cref="LanguageModel.NamedParameters"/> gives them (prefixed "decoder."), then the encoder's
    /// and projector's unless frozen, with the facts their layers publish (<see cref="ParameterCatalog"/>).
    /// </summary>
    public IReadOnlyList<NamedParameter> NamedParameters()
    {
        var result = decoder.NamedParameters().Select(p => p with { Name = "decoder." + p.Name }).ToList();
        if (!Spec.Vision.FreezeEncoder) result.AddRange(ParameterCatalog.Of(encoder).Select(p => p with { Name = "encoder." + p.Name }));
        if (!Spec.Vision.FreezeProjector) result.AddRange(ParameterCatalog.Of(projector).Select(p => p with { Name = "projector." + p.Name }));
        return result;
    }

    /// <summary>Copies every weight (trainable or frozen) from a model of the same spec, e.g. to make a frozen reference.</summary>
    public void CopyWeightsFrom(VisionLanguageModel source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!Equals(source.Spec, Spec)) throw new ArgumentException("weights can only be copied between models of the same spec", nameof(source));
        using var noGrad = torch.no_grad();
        var sourceParameters = source.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, parameter) in named_parameters()) parameter.copy_(sourceParameters[name]);
    }

    private void CheckImages(Tensor images)
    {
        var v = Spec.Vision;
        if (images.dim() != 4 || images.shape[1] != v.Channels || images.shape[2] != v.ImageSize || images.shape[3] != v.ImageSize)
            throw new ArgumentException($"images must be [batch, {v.Channels}, {v.ImageSize}, {v.ImageSize}], got [{string.Join(", ", images.shape)}]", nameof(images));
        if (!images.is_floating_point())
            throw new ArgumentException($"images must hold floating-point pixel values, got {images.dtype}", nameof(images));
    }
}
