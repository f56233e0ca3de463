using ModelDsl.Core.Generation;
using ModelDsl.Runtime.Generation;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Vision;

/// <summary>Autoregressive generation for a batch of equally long prompts, each with its image or with none.</summary>
public static class VisionGenerator
{
    /// <summary>
    /// Extends prompts int64 [B, P] by <paramref name="maxNewTokens"/> tokens conditioned on images
    /// [B, C, H, W] (null: no image) and returns int64 [B, P + maxNewTokens]. With the cache the image
    /// prefix and prompt are processed once and each new token costs one position; without it every
    /// step reruns image and text from scratch (the reference the cached path must equal).
    /// </summary>
    public static Tensor Generate(VisionLanguageModel model, Tensor? images, Tensor prompts, int maxNewTokens, SamplingSpec sampling,
        torch.Generator? rng = null, bool useCache = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        var prefix = images is null ? 0 : model.PrefixTokens;
        return Generation.Generator.Decode(model.Decoder, prefix, prompts, maxNewTokens, sampling, rng, useCache,
            (tokens, cache, withPrefix) => cache is null ? model.Forward(images, tokens) : model.Forward(withPrefix ? images : null, tokens, cache));
    }
}
