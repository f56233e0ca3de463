using static TorchSharp.torch;

namespace ModelDsl.Runtime.Distributed;

/// <summary>
/// The communication a data-parallel run needs, and nothing the trainer depends on beyond it: sums
/// over every replica, a broadcast from one replica, and a barrier. Every call is collective: all
/// replicas make the same calls in the same order with buffers of the same length and type.
/// Implemented over MPI (<see cref="MpiCollective"/>) and as the identity for one process
/// (<see cref="SingleProcessCollective"/>); a GPU build adds NCCL behind the same interface
/// (docs/architecture.md, "Data parallelism").
/// </summary>
public interface ICollective
{
    /// <summary>This replica's index, 0 .. <see cref="Size"/> - 1.</summary>
    int Rank { get; }

    /// <summary>The number of replicas.</summary>
    int Size { get; }

    /// <summary>Replica 0 alone writes the run's files.</summary>
    bool IsRoot => Rank == 0;

    /// <summary>In place: every element becomes the sum of that element over all replicas.</summary>
    void AllReduceSum(Span<double> values);

    /// <summary>In place on a contiguous float32 or float64 tensor (the flat gradient buckets).</summary>
    void AllReduceSum(Tensor values);

    /// <summary>Every replica receives <paramref name="root"/>'s bytes.</summary>
    void Broadcast(Span<byte> bytes, int root);

    /// <summary>Every replica receives <paramref name="root"/>'s values of a contiguous tensor (float32, float64 or int64).</summary>
    void Broadcast(Tensor values, int root);

    /// <summary>Returns when every replica has called it.</summary>
    void Barrier();
}
