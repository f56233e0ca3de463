using ModelDsl.Core.Generation;
using ModelDsl.Core.Validation;
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
        ArgumentNullException.ThrowIfNull(sampling);
        var validator = new Validator();
        sampling.Validate(validator, "sampling");
        validator.ThrowIfAny();
        if (prompts.dtype != ScalarType.Int64 || prompts.dim() != 2 || prompts.shape[0] < 1 || prompts.shape[1] < 1)
            throw new ArgumentException($"prompts must be a non-empty int64 tensor [batch, length], got {prompts.dtype} [{string.Join(", ", prompts.shape)}]", nameof(prompts));
        if (maxNewTokens < 0) throw new ArgumentOutOfRangeException(nameof(maxNewTokens), maxNewTokens, "must be zero or positive");
        var (batch, promptLength) = ((int)prompts.shape[0], (int)prompts.shape[1]);
        var prefix = images is null ? 0 : model.PrefixTokens;
        var total = promptLength + maxNewTokens;
        if (prefix + total > model.Decoder.Spec.MaxSequenceLength)
            throw new ArgumentException($"{prefix} image positions + prompt length {promptLength} + {maxNewTokens} new tokens exceed the decoder's maxSequenceLength {model.Decoder.Spec.MaxSequenceLength}");

        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        var sequences = torch.zeros([batch, total], dtype: ScalarType.Int64, device: model.Device);
        sequences.narrow(1, 0, promptLength).copy_(prompts);
        using var cache = useCache && maxNewTokens > 0 ? model.NewCache(batch, prefix + total) : null;
        for (var step = 0; step < maxNewTokens; step++)
        {
            using var stepScope = NewDisposeScope();
            var position = promptLength + step;
            var logits = cache is null
                ? model.Forward(images, sequences.narrow(1, 0, position))
                : step == 0
                    ? model.Forward(images, sequences.narrow(1, 0, promptLength), cache)
                    : model.Forward(null, sequences.narrow(1, position - 1, 1), cache);
            var next = TokenSampler.Sample(logits.select(1, -1), sampling, rng);
            sequences.select(1, position).copy_(next);
        }
        return sequences.MoveToOuterDisposeScope();
    }
}
