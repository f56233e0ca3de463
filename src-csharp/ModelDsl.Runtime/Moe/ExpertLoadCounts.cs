using static ModelDsl.Runtime.Layers.HeldScalars;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Moe;

/// <summary>
/// The data-parallel hook of global-batch balancing: the one E-vector per MoE layer (token slots
/// routed to each expert in this micro-batch) that replicas must sum. A multi-process trainer
/// supplies an all-reduce; a single process is the identity.
/// </summary>
public interface IExpertLoadReducer
{
    /// <summary>Local counts [E] (float64) -> counts summed over every replica.</summary>
    Tensor SumOverReplicas(Tensor localCounts);
}

public sealed class SingleProcessLoadReducer : IExpertLoadReducer
{
    public static readonly SingleProcessLoadReducer Instance = new();
    public Tensor SumOverReplicas(Tensor localCounts) => localCounts;
}

/// <summary>
/// Running per-expert slot counts over the micro-batches of the current optimizer step, for
/// global-batch balancing (arXiv 2501.11873 §3; Megatron-LM keeps the same running sum).
/// <para>Why a running sum: f over the whole global batch is only known after its last micro-batch,
/// but each micro-batch's backward runs before the next forward. Micro-batch m therefore uses
/// f = (counts of micro-batches 1..m) / (slots of 1..m): exact for the last micro-batch, an ever
/// better estimate before it, and never waiting for data not yet seen. (The exact alternative is a
/// counting-only first pass over all micro-batches; it costs one extra router pass per micro-batch.)</para>
/// <para>The trainer calls <see cref="Reset"/> at the start of every optimizer step, so nothing
/// carries across steps and a resumed run sees the same statistics as an uninterrupted one.</para>
/// </summary>
public sealed class ExpertLoadCounts : IDisposable
{
    private Tensor? counts;

    public ExpertLoadCounts(int experts) => Experts = experts;

    public int Experts { get; }
    /// <summary>Token slots (tokens x k, summed over replicas) counted since the last reset.</summary>
    public double Slots { get; private set; }
    /// <summary>Micro-batches counted since the last reset.</summary>
    public int MicroBatches { get; private set; }

    /// <summary>Counts [E] (float64, a copy) since the last reset; zeros right after it.</summary>
    public Tensor Counts => counts?.clone() ?? zeros(Experts, ScalarType.Float64);

    public void Reset()
    {
        counts?.Dispose();
        counts = null;
        Slots = 0;
        MicroBatches = 0;
    }

    /// <summary>Adds one micro-batch's counts [E] (already summed over replicas) and returns the running total.</summary>
    public Tensor Add(Tensor microBatchCounts, double slots)
    {
        if (microBatchCounts.numel() != Experts)
            throw new ArgumentException($"expected {Experts} expert counts, got {microBatchCounts.numel()}");
        using (no_grad())
        {
            var total = counts is null ? microBatchCounts.to(ScalarType.Float64).clone() : counts.add(microBatchCounts.to(ScalarType.Float64), One);
            counts?.Dispose();
            counts = total.DetachFromDisposeScope();
        }
        Slots += slots;
        MicroBatches++;
        return counts.alias();
    }

    public void Dispose() => Reset();
}
