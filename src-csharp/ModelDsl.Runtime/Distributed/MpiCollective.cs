using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Distributed;

/// <summary>
/// <see cref="ICollective"/> over MPI_COMM_WORLD of Open MPI (see <see cref="OpenMpiNative"/>).
/// Tensors are reduced in host memory; a CUDA build would use NCCL on device buffers instead.
/// One per process: MPI is initialised once and finalised when the process exits.
/// </summary>
public sealed class MpiCollective : ICollective
{
    private static readonly Lock Gate = new();
    private static MpiCollective? world;
    private readonly OpenMpiNative.Handles handles;

    private MpiCollective(OpenMpiNative.Handles handles, int rank, int size)
    {
        this.handles = handles;
        Rank = rank;
        Size = size;
    }

    public int Rank { get; }
    public int Size { get; }

    /// <summary>MPI_COMM_WORLD, initialising MPI on first use (MPI_THREAD_SERIALIZED: the trainer calls from one thread at a time).</summary>
    public static MpiCollective World
    {
        get
        {
            lock (Gate)
            {
                if (world is not null) return world;
                var handles = OpenMpiNative.Load();
                OpenMpiNative.Check(OpenMpiNative.MPI_Initialized(out var initialized), "MPI_Initialized");
                if (initialized == 0)
                {
                    OpenMpiNative.Check(OpenMpiNative.MPI_Init_thread(IntPtr.Zero, IntPtr.Zero, OpenMpiNative.ThreadSerialized, out _), "MPI_Init_thread");
                    AppDomain.CurrentDomain.ProcessExit += (_, _) => FinalizeAtExit();
                }
                OpenMpiNative.Check(OpenMpiNative.MPI_Comm_rank(handles.CommWorld, out var rank), "MPI_Comm_rank");
                OpenMpiNative.Check(OpenMpiNative.MPI_Comm_size(handles.CommWorld, out var size), "MPI_Comm_size");
                return world = new MpiCollective(handles, rank, size);
            }
        }
    }

    private static void FinalizeAtExit()
    {
        if (OpenMpiNative.MPI_Finalized(out var finalized) == 0 && finalized == 0) OpenMpiNative.MPI_Finalize();
    }

    /// <summary>Ends the whole job (every rank) with an exit code: a rank that cannot go on must not leave the others waiting.</summary>
    public void Abort(int exitCode) => OpenMpiNative.MPI_Abort(handles.CommWorld, exitCode);

    public void AllReduceSum(Span<double> values) =>
        AllReduce(MemoryMarshal.AsBytes(values), sizeof(double), handles.Double);

    public void AllReduceSum(Tensor values)
    {
        var (datatype, width) = TypeOf(values, "all-reduce");
        var bytes = values.bytes;
        AllReduce(bytes, width, datatype);
        values.bytes = bytes; // a no-op when the span is the tensor's own memory; a copy-back otherwise
    }

    public void Broadcast(Span<byte> bytes, int root)
    {
        for (var offset = 0; offset < bytes.Length; offset += MaxCount)
        {
            var chunk = bytes[offset..Math.Min(bytes.Length, offset + MaxCount)];
            OpenMpiNative.Check(OpenMpiNative.MPI_Bcast(ref MemoryMarshal.GetReference(chunk), chunk.Length, handles.Byte, root, handles.CommWorld), "MPI_Bcast");
        }
    }

    public void Broadcast(Tensor values, int root)
    {
        TypeOf(values, "broadcast");
        var bytes = values.bytes;
        Broadcast(bytes, root);
        values.bytes = bytes;
    }

    public void Barrier() => OpenMpiNative.Check(OpenMpiNative.MPI_Barrier(handles.CommWorld), "MPI_Barrier");

    // MPI counts are ints: larger buffers go in chunks.
    private const int MaxCount = 1 << 30;

    private void AllReduce(Span<byte> bytes, int width, IntPtr datatype)
    {
        var elements = bytes.Length / width;
        for (var start = 0; start < elements; start += MaxCount)
        {
            var count = Math.Min(MaxCount, elements - start);
            var chunk = bytes.Slice(start * width, count * width);
            OpenMpiNative.Check(OpenMpiNative.MPI_Allreduce(OpenMpiNative.InPlace, ref MemoryMarshal.GetReference(chunk), count, datatype, handles.Sum, handles.CommWorld),
                "MPI_Allreduce");
        }
    }

    private (IntPtr Datatype, int Width) TypeOf(Tensor values, string what)
    {
        if (values.device_type != TorchSharp.DeviceType.CPU)
            throw new NotSupportedException($"MPI {what}: the tensor is on {values.device}; this build reduces host tensors (a GPU build uses NCCL)");
        if (!values.is_contiguous())
            throw new ArgumentException($"MPI {what}: the tensor must be contiguous");
        return values.dtype switch
        {
            ScalarType.Float32 => (handles.Float, sizeof(float)),
            ScalarType.Float64 => (handles.Double, sizeof(double)),
            ScalarType.Int64 => (handles.Int64, sizeof(long)),
            _ => throw new NotSupportedException($"MPI {what}: dtype {values.dtype} is not supported (float32, float64 or int64)"),
        };
    }
}
