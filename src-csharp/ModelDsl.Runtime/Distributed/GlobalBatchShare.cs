using ModelDsl.Runtime.Tasks;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Distributed;

/// <summary>
/// One replica's part of a global batch, and the denominators of the global-batch loss.
/// Replica r of R takes rows [r B/R, (r+1) B/R) of every micro-batch of B rows, so all replicas
/// see the same micro-batch index at the same time: an MoE layer's running global-batch expert
/// counts, summed over replicas, are then those of the single-process micro-batch (arXiv
/// 2501.11873 §3), and the step is the single-process step.
/// The loss normalisation keeps the single-process loss (see GradientAccumulation): token losses
/// divide by the masked-token count of the whole global batch (over every replica), and each
/// micro-batch's auxiliary losses by micro-batches x replicas, so that summing the replicas'
/// gradients gives the single-process gradient. (Auxiliary terms are per-micro-batch means over
/// tokens; the mean of the replicas' equal-sized slices is the micro-batch's mean.)
/// </summary>
public sealed record GlobalBatchShare(IReadOnlyList<Batch> Local, double MaskedTokens, int AuxiliaryDivisor)
{
    /// <summary>The whole global batch in one process.</summary>
    public static GlobalBatchShare Whole(IReadOnlyList<Batch> microBatches) =>
        new(microBatches, MaskedTokensOf(microBatches), microBatches.Count);

    /// <summary>Replica <paramref name="rank"/>'s rows of each micro-batch; the micro-batch size must divide by <paramref name="replicas"/>.</summary>
    public static GlobalBatchShare Of(IReadOnlyList<Batch> microBatches, int rank, int replicas)
    {
        if (replicas == 1) return Whole(microBatches);
        var local = microBatches.Select(b => Slice(b, rank, replicas)).ToList();
        return new GlobalBatchShare(local, MaskedTokensOf(microBatches), microBatches.Count * replicas);
    }

    public static double MaskedTokensOf(IReadOnlyList<Batch> microBatches)
    {
        using var scope = NewDisposeScope();
        return microBatches.Sum(b => b.LossMask.sum().to(ScalarType.Float64).item<double>());
    }

    private static Batch Slice(Batch batch, int rank, int replicas)
    {
        var rows = batch.Inputs.shape[0];
        if (rows % replicas != 0)
            throw new InvalidOperationException(
                $"training.microBatch: a micro-batch of {rows} rows cannot be split evenly over {replicas} data-parallel replicas; " +
                $"choose a micro-batch that is a multiple of {replicas}");
        var share = rows / replicas;
        Tensor Rows(Tensor t) => t.narrow(0, rank * share, share);
        return new Batch(Rows(batch.Inputs), Rows(batch.Targets), Rows(batch.LossMask),
            batch.Domains is { } domains ? Rows(domains) : null, batch.Padding is { } padding ? Rows(padding) : null);
    }
}
