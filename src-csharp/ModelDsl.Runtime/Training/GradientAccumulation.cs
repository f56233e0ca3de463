using ModelDsl.Runtime.Layers;
using ModelDsl.Runtime.Tasks;
using TorchSharp;
using static ModelDsl.Runtime.Layers.HeldScalars;
using static TorchSharp.torch;
using ModelDsl.Runtime.Losses;
using ModelDsl.Runtime.Model;
using ModelDsl.Runtime.Distributed;

namespace ModelDsl.Runtime.Training;

/// <summary>Forward and backward passes over the micro-batches of one global batch.</summary>
public static class GradientAccumulation
{
    /// <summary>
    /// Adds to the parameters' gradients the gradient of the global-batch loss and returns the
    /// language-modelling part of it (see <see cref="BackwardWithAuxiliary"/>).
    /// </summary>
    public static double Backward(nn.Module<Tensor, Tensor> module, IReadOnlyList<Batch> microBatches, Device device) =>
        BackwardWithAuxiliary(module, microBatches, device).LanguageModel;

    /// <summary>
    /// Adds to the parameters' gradients the gradient of the global-batch loss
    /// LM + mean over micro-batches of the auxiliary losses, and returns both parts.
    /// LM is the sum of masked token losses over all micro-batches divided by the total masked-token
    /// count of the global batch. Each micro-batch's backward uses that common denominator, so the
    /// accumulated gradient equals that of one large batch exactly (a mean of per-micro-batch means
    /// would weight tokens unequally whenever micro-batches count different numbers of tokens).
    /// Auxiliary losses (a <see cref="LanguageModel"/>'s MoE balance and z-losses, already means over
    /// a micro-batch's tokens) are divided by the number of micro-batches, as Megatron-LM does.
    /// <paramref name="beforeForward"/> sees each micro-batch just before its forward pass.
    /// </summary>
    public static AccumulatedLoss BackwardWithAuxiliary(nn.Module<Tensor, Tensor> module, IReadOnlyList<Batch> microBatches, Device device,
        Action<Batch>? beforeForward = null) =>
        BackwardWithAuxiliary(module, GlobalBatchShare.Whole(microBatches), device, beforeForward);

    /// <summary>
    /// The same for one data-parallel replica's share of the global batch: its token losses divide by
    /// the global batch's masked-token count and its auxiliary losses by the global divisor, so the
    /// returned losses and the gradients are this replica's parts of the global ones (their sums over replicas).
    /// </summary>
    /// <paramref name="clock"/>, when given, accumulates the forward-with-loss and backward times.
    public static AccumulatedLoss BackwardWithAuxiliary(nn.Module<Tensor, Tensor> module, GlobalBatchShare share, Device device,
        Action<Batch>? beforeForward = null, StepClock? clock = null)
    {
        using var scope = NewDisposeScope();
        var microBatches = share.Local;
        var maskedTokens = share.MaskedTokens;
        if (maskedTokens == 0) throw new InvalidOperationException("the loss mask of the global batch counts no tokens");
        Tensor? lossSum = null;
        var auxiliarySums = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var auxiliaryOrder = new List<string>();
        // Divisors held for the whole pass (see HeldScalars): same values and number types as before.
        using var tokenDivisor = maskedTokens.ToScalar();
        using var auxiliaryDivisor = share.AuxiliaryDivisor.ToScalar();
        foreach (var batch in microBatches)
        {
            beforeForward?.Invoke(batch);
            var inputs = batch.Inputs.to(device);
            Tensor logits;
            AuxiliaryLosses? auxiliary = null;
            if (module is LanguageModel model)
            {
                var output = model.Run(inputs);
                logits = output.Logits;
                auxiliary = output.AuxiliaryLosses;
            }
            else logits = module.forward(inputs);
            var tokenLossSum = MaskedCrossEntropy.Sum(logits, batch.Targets.to(device), batch.LossMask.to(device));
            var loss = tokenLossSum.div(tokenDivisor);
            if (auxiliary?.Total() is { } auxiliaryTotal) loss = loss.add(auxiliaryTotal.div(auxiliaryDivisor), One);
            clock?.EndForwardLoss();
            loss.backward();
            clock?.EndBackward();
            var detached = tokenLossSum.detach();
            lossSum = lossSum is null ? detached : lossSum.add(detached, One);
            foreach (var (name, term) in auxiliary?.Terms ?? [])
            {
                var part = term.detach().to(ScalarType.Float64).div(auxiliaryDivisor);
                if (auxiliarySums.TryGetValue(name, out var sum)) auxiliarySums[name] = sum.add(part, One);
                else { auxiliarySums[name] = part; auxiliaryOrder.Add(name); }
            }
        }
        // Host synchronisation once per optimizer step (and once per auxiliary term).
        var languageModel = lossSum!.to(ScalarType.Float64).item<double>() / maskedTokens;
        return new AccumulatedLoss(languageModel, auxiliaryOrder.Select(n => new AuxiliaryLossValue(n, auxiliarySums[n].item<double>())).ToList());
    }

    /// <summary>
    /// H v for the global-batch loss (the same normalisation as <see cref="Backward"/>), by double
    /// backward (Pearlmutter 1994): per micro-batch, g = d loss / d theta with a graph, then
    /// d (g . v) / d theta. The Hessian of a sum is the sum of the micro-batches' Hessians, so
    /// accumulating over micro-batches is exact. Costs about two extra backward passes per micro-batch.
    /// Leaves the parameters' .grad untouched. Parameters the loss does not reach get zeros.
    /// The flash SDPA kernel has no double backward (libtorch aborts the process), so it is switched
    /// off for these passes and attention takes the math path; on CUDA the memory-efficient kernel
    /// has none either and TorchSharp offers no switch for it.
    /// </summary>
    public static IReadOnlyList<Tensor> HessianVectorProduct(nn.Module<Tensor, Tensor> module, IReadOnlyList<Batch> microBatches, Device device,
        IReadOnlyList<Tensor> parameters, IReadOnlyList<Tensor> vectors)
    {
        if (vectors.Count != parameters.Count)
            throw new ArgumentException($"{vectors.Count} vectors for {parameters.Count} parameters", nameof(vectors));
        var maskedTokens = microBatches.Sum(b => b.LossMask.sum().to(ScalarType.Float64).item<double>());
        if (maskedTokens == 0) throw new InvalidOperationException("the loss mask of the global batch counts no tokens");
        var inputs = parameters.ToList();
        var sums = parameters.Select(p => zeros_like(p)).ToList();
        using var tokenDivisor = maskedTokens.ToScalar();
        var flashWasEnabled = backends.cuda.flash_sdp_enabled();
        backends.cuda.enable_flash_sdp(false);
        try
        {
            using var enable = enable_grad();
            foreach (var batch in microBatches)
            {
                using var scope = NewDisposeScope();
                var logits = module.forward(batch.Inputs.to(device));
                var loss = MaskedCrossEntropy.Sum(logits, batch.Targets.to(device), batch.LossMask.to(device)).div(tokenDivisor);
                var gradients = autograd.grad([loss], inputs, retain_graph: true, create_graph: true, allow_unused: true);
                Tensor? dot = null;
                for (var i = 0; i < parameters.Count; i++)
                {
                    if (gradients[i] is null || !gradients[i].requires_grad) continue;
                    var term = (gradients[i] * vectors[i]).sum();
                    dot = dot is null ? term : dot.add(term, One);
                }
                if (dot is null) continue;
                var products = autograd.grad([dot], inputs, allow_unused: true);
                using var noGrad = no_grad();
                for (var i = 0; i < parameters.Count; i++)
                    if (products[i] is not null && products[i].numel() > 0) sums[i].add_(products[i], One);
            }
        }
        finally
        {
            backends.cuda.enable_flash_sdp(flashWasEnabled);
        }
        return sums;
    }
}

/// <summary>One auxiliary loss term averaged over the micro-batches of an optimizer step.</summary>
public sealed record AuxiliaryLossValue(string Name, double Value);

/// <summary>The losses of one optimizer step: language modelling and each auxiliary term (their sum was trained on).</summary>
public sealed record AccumulatedLoss(double LanguageModel, IReadOnlyList<AuxiliaryLossValue> Auxiliary)
{
    public double Total => LanguageModel + Auxiliary.Sum(a => a.Value);
}
