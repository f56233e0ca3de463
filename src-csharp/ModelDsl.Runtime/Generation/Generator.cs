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
        ArgumentNullException.ThrowIfNull(sampling);
        var validator = new Validator();
        sampling.Validate(validator, "sampling");
        validator.ThrowIfAny();
        if (prompts.dtype != ScalarType.Int64 || prompts.dim() != 2 || prompts.shape[0] < 1 || prompts.shape[1] < 1)
            throw new ArgumentException($"prompts must be a non-empty int64 tensor [batch, length], got {prompts.dtype} [{string.Join(", ", prompts.shape)}]", nameof(prompts));
        if (maxNewTokens < 0) throw new ArgumentOutOfRangeException(nameof(maxNewTokens), maxNewTokens, "must be zero or positive");
        ModelDsl.Runtime.Tasks.TokenRange.Check(prompts, model.Spec.Vocab, "prompts");
        var (batch, promptLength) = ((int)prompts.shape[0], (int)prompts.shape[1]);
        var total = promptLength + maxNewTokens;
        if (total > model.Spec.MaxSequenceLength)
            throw new ArgumentException($"prompt length {promptLength} + {maxNewTokens} new tokens exceeds the model's maxSequenceLength {model.Spec.MaxSequenceLength}");

        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        var sequences = torch.zeros([batch, total], dtype: ScalarType.Int64, device: model.Device);
        sequences.narrow(1, 0, promptLength).copy_(prompts);
        using var cache = useCache && maxNewTokens > 0 ? model.NewCache(batch, total) : null;

        for (var step = 0; step < maxNewTokens; step++)
        {
            using var stepScope = NewDisposeScope();
            var position = promptLength + step;
            var logits = cache is null
                ? model.forward(sequences.narrow(1, 0, position))
                : model.Forward(step == 0 ? sequences.narrow(1, 0, promptLength) : sequences.narrow(1, position - 1, 1), cache);
            var next = TokenSampler.Sample(logits.select(1, -1), sampling, rng);
            sequences.select(1, position).copy_(next);
        }
        return sequences.MoveToOuterDisposeScope();
    }
}
