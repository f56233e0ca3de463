using ModelDsl.Core.Generation;
using ModelDsl.Core.Validation;
using TorchSharp;
using static TorchSharp.torch;
using ModelDsl.Runtime.Model;

namespace ModelDsl.Runtime.Generation;

/// <summary>Autoregressive generation for a batch of equally long prompts.</summary>
public static class Generator
{
    /// <summary>
    /// Extends prompts int64 [B, P] by <paramref name="maxNewTokens"/> tokens and returns
    /// int64 [B, P + maxNewTokens] on the model's device. With <paramref name="useCache"/> the prompt
    /// is processed once and each new token costs one position (KV cache); without it every step
    /// reruns the whole prefix, which gives the same tokens and serves as the reference.
    /// <paramref name="rng"/> makes sampling reproducible (the global generator when null).
    /// </summary>
    public static Tensor Generate(LanguageModel model, Tensor prompts, int maxNewTokens, SamplingSpec sampling,
        torch.Generator? rng = null, bool useCache = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Decode(model, prefixPositions: 0, prompts, maxNewTokens, sampling, rng, useCache,
            (tokens, cache, _) => cache is null ? model.forward(tokens) : model.Forward(tokens, cache));
    }

    /// <summary>
    /// The decoding loop every generator shares: argument checks, the output buffer, the optional KV
    /// cache (sized for <paramref name="prefixPositions"/> positions before the prompt, e.g. an image)
    /// and one sampled token per step. <paramref name="forward"/>(tokens, cache, withPrefix) returns the
    /// logits of the given tokens; withPrefix is true when the tokens start at the prompt (so a prefix
    /// comes first), false for a single new token after the cached positions.
    /// </summary>
    public static Tensor Decode(LanguageModel decoder, int prefixPositions, Tensor prompts, int maxNewTokens, SamplingSpec sampling,
        torch.Generator? rng, bool useCache, Func<Tensor, KvCache?, bool, Tensor> forward)
    {
        ArgumentNullException.ThrowIfNull(decoder);
        ArgumentNullException.ThrowIfNull(sampling);
        var validator = new Validator();
        sampling.Validate(validator, "sampling");
        validator.ThrowIfAny();
        if (prompts.dtype != ScalarType.Int64 || prompts.dim() != 2 || prompts.shape[0] < 1 || prompts.shape[1] < 1)
            throw new ArgumentException($"prompts must be a non-empty int64 tensor [batch, length], got {prompts.dtype} [{string.Join(", ", prompts.shape)}]", nameof(prompts));
        if (maxNewTokens < 0) throw new ArgumentOutOfRangeException(nameof(maxNewTokens), maxNewTokens, "must be zero or positive");
        ModelDsl.Runtime.Tasks.TokenRange.Check(prompts, decoder.Spec.Vocab, "prompts");
        var (batch, promptLength) = ((int)prompts.shape[0], (int)prompts.shape[1]);
        var total = promptLength + maxNewTokens;
        if (prefixPositions + total > decoder.Spec.MaxSequenceLength)
            throw new ArgumentException((prefixPositions > 0 ? $"{prefixPositions} prefix positions + " : "") +
                $"prompt length {promptLength} + {maxNewTokens} new tokens exceeds the model's maxSequenceLength {decoder.Spec.MaxSequenceLength}");

        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        var sequences = torch.zeros([batch, total], dtype: ScalarType.Int64, device: decoder.Device);
        sequences.narrow(1, 0, promptLength).copy_(prompts);
        using var cache = useCache && maxNewTokens > 0 ? decoder.NewCache(batch, prefixPositions + total) : null;

        for (var step = 0; step < maxNewTokens; step++)
        {
            using var stepScope = NewDisposeScope();
            var position = promptLength + step;
            // Without a cache every step reruns the whole prefix (the reference the cached path must equal).
            var logits = cache is null ? forward(sequences.narrow(1, 0, position), null, true)
                : step == 0 ? forward(sequences.narrow(1, 0, promptLength), cache, true)
                : forward(sequences.narrow(1, position - 1, 1), cache, false);
            var next = TokenSampler.Sample(logits.select(1, -1), sampling, rng);
            sequences.select(1, position).copy_(next);
        }
        return sequences.MoveToOuterDisposeScope();
    }
}
