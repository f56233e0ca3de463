using static TorchSharp.torch;

namespace ModelDsl.Runtime.Vision;

/// <summary>
/// Next-token tensors for prompt+response sequences of one common length: Inputs are each
/// sequence's first L-1 tokens, Targets its last L-1, and Mask is 1 exactly where the target is a
/// response token (the prompt is context, not scored).
/// </summary>
public sealed class ResponseBatch : IDisposable
{
    private ResponseBatch(Tensor inputs, Tensor targets, Tensor mask)
    {
        Inputs = inputs;
        Targets = targets;
        Mask = mask;
    }

    /// <summary>int64 [B, L-1].</summary>
    public Tensor Inputs { get; }
    /// <summary>int64 [B, L-1].</summary>
    public Tensor Targets { get; }
    /// <summary>float32 [B, L-1], 1 on response targets.</summary>
    public Tensor Mask { get; }
    public long Size => Inputs.shape[0];

    public static ResponseBatch From(IReadOnlyList<PromptResponse> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (texts.Count == 0) throw new ArgumentException("a batch needs at least one text", nameof(texts));
        var length = texts[0].Prompt.Length + texts[0].Response.Length;
        var inputs = new long[texts.Count * (length - 1)];
        var targets = new long[inputs.Length];
        var mask = new float[inputs.Length];
        for (var b = 0; b < texts.Count; b++)
        {
            var (prompt, response) = (texts[b].Prompt, texts[b].Response);
            if (prompt.Length < 1 || response.Length < 1)
                throw new ArgumentException($"text {b}: prompt and response need at least one token each");
            if (prompt.Length + response.Length != length)
                throw new ArgumentException($"text {b} has {prompt.Length + response.Length} tokens, the first has {length}; a batch needs one length");
            var sequence = texts[b].Sequence;
            for (var t = 0; t < length - 1; t++)
            {
                inputs[b * (length - 1) + t] = sequence[t];
                targets[b * (length - 1) + t] = sequence[t + 1];
                mask[b * (length - 1) + t] = t + 1 >= prompt.Length ? 1f : 0f;
            }
        }
        long[] shape = [texts.Count, length - 1];
        return new ResponseBatch(tensor(inputs, shape, ScalarType.Int64), tensor(targets, shape, ScalarType.Int64), tensor(mask, shape, ScalarType.Float32));
    }

    public void Dispose()
    {
        Inputs.Dispose();
        Targets.Dispose();
        Mask.Dispose();
    }
}
