using static TorchSharp.torch;

namespace ModelDsl.Runtime.Vision;

/// <summary>log pi(T | I, q) summed over the response tokens, the quantity every preference objective compares.</summary>
public static class ResponseLogProbs
{
    /// <summary>
    /// Sum over the masked (response) targets of log p(target), one value per sequence [B], in the
    /// model's dtype; images [B, C, H, W] or null for no image. Differentiable (the caller scopes autograd).
    /// </summary>
    public static Tensor Sum(VisionLanguageModel model, Tensor? images, ResponseBatch batch)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var scope = NewDisposeScope();
        return SumWithPrefix(model, images is null ? null : model.Prefix(images), batch).MoveToOuterDisposeScope();
    }

    /// <summary>As <see cref="Sum"/>, from prefix embeddings computed once by <see cref="VisionLanguageModel.Prefix"/> (null: no image).</summary>
    public static Tensor SumWithPrefix(VisionLanguageModel model, Tensor? prefix, ResponseBatch batch)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batch);
        using var scope = NewDisposeScope();
        var inputs = batch.Inputs.to(model.Device);
        var logits = model.RunWithPrefix(prefix, inputs).Logits;
        var logProbs = logits.log_softmax(-1).gather(-1, batch.Targets.to(model.Device).unsqueeze(-1)).squeeze(-1);
        return (logProbs * batch.Mask.to(logProbs.dtype, model.Device)).sum(-1).MoveToOuterDisposeScope();
    }
}
