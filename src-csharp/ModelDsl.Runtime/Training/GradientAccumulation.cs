using ModelDsl.Runtime.Tasks;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Training;

/// <summary>Forward and backward passes over the micro-batches of one global batch.</summary>
public static class GradientAccumulation
{
    /// <summary>
    /// Adds to the parameters' gradients the gradient of the global-batch loss and returns that loss:
    /// the sum of masked token losses over all micro-batches divided by the total masked-token count
    /// of the global batch. Each micro-batch's backward uses that common denominator, so the
    /// accumulated gradient equals that of one large batch exactly (a mean of per-micro-batch means
    /// would weight tokens unequally whenever micro-batches count different numbers of tokens).
    /// </summary>
    public static double Backward(nn.Module<Tensor, Tensor> module, IReadOnlyList<Batch> microBatches, Device device)
    {
        using var scope = NewDisposeScope();
        var maskedTokens = microBatches.Sum(b => b.LossMask.sum().to(ScalarType.Float64).item<double>());
        if (maskedTokens == 0) throw new InvalidOperationException("the loss mask of the global batch counts no tokens");
        Tensor? lossSum = null;
        foreach (var batch in microBatches)
        {
            var logits = module.forward(batch.Inputs.to(device));
            var tokenLossSum = MaskedCrossEntropy.Sum(logits, batch.Targets.to(device), batch.LossMask.to(device));
            (tokenLossSum / maskedTokens).backward();
            var detached = tokenLossSum.detach();
            lossSum = lossSum is null ? detached : lossSum + detached;
        }
        // One host synchronisation per optimizer step.
        return lossSum!.to(ScalarType.Float64).item<double>() / maskedTokens;
    }
}
