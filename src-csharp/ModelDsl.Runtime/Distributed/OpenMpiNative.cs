using System.Runtime.InteropServices;

namespace ModelDsl.Runtime.Distributed;

/// <summary>
/// The few MPI functions data parallelism needs, bound directly to Open MPI's libmpi.so.40.
/// <para>Why P/Invoke and not the MPI.NET package: MPI.NET 1.4 targets Windows MS-MPI first and its
/// Linux support needs a native shim built against the local MPI; seven functions and five handles
/// are easier to keep right than that build. The binding is Open MPI specific: its handles
/// (MPI_COMM_WORLD, MPI_DOUBLE, MPI_SUM, ...) are the addresses of exported globals
/// (ompi_mpi_comm_world, ompi_mpi_double, ompi_mpi_op_sum, ...), and MPI_IN_PLACE is (void*)1.
/// MPICH's integer handles would need a second table.</para>
/// <para>libmpi is opened with RTLD_GLOBAL first: Open MPI loads its transport plugins with dlopen,
/// and they resolve symbols of libmpi and libopen-pal in the global namespace.</para>
/// </summary>
internal static class OpenMpiNative
{
    public const string Library = "libmpi.so.40";
    private const int RtldNow = 2, RtldGlobal = 0x100;
    public const int ThreadSerialized = 2; // MPI_THREAD_SERIALIZED in Open MPI's mpi.h
    public static readonly IntPtr InPlace = 1;

    [DllImport("libc", EntryPoint = "dlopen")] private static extern IntPtr DlOpen(string file, int mode);
    [DllImport("libc", EntryPoint = "dlerror")] private static extern IntPtr DlError();

    [DllImport(Library)] public static extern int MPI_Initialized(out int flag);
    [DllImport(Library)] public static extern int MPI_Finalized(out int flag);
    [DllImport(Library)] public static extern int MPI_Init_thread(IntPtr argc, IntPtr argv, int required, out int provided);
    [DllImport(Library)] public static extern int MPI_Finalize();
    [DllImport(Library)] public static extern int MPI_Abort(IntPtr comm, int errorCode);
    [DllImport(Library)] public static extern int MPI_Comm_rank(IntPtr comm, out int rank);
    [DllImport(Library)] public static extern int MPI_Comm_size(IntPtr comm, out int size);
    [DllImport(Library)] public static extern int MPI_Barrier(IntPtr comm);
    [DllImport(Library)] public static extern int MPI_Allreduce(IntPtr sendBuffer, ref byte receiveBuffer, int count, IntPtr datatype, IntPtr op, IntPtr comm);
    [DllImport(Library)] public static extern int MPI_Bcast(ref byte buffer, int count, IntPtr datatype, int root, IntPtr comm);

    /// <summary>The handles, read once from libmpi's exported globals.</summary>
    public sealed record Handles(IntPtr CommWorld, IntPtr Float, IntPtr Double, IntPtr Int64, IntPtr Byte, IntPtr Sum);

    /// <summary>Opens libmpi globally and reads its handles; a clear error when Open MPI is not installed.</summary>
    public static Handles Load()
    {
        if (DlOpen(Library, RtldNow | RtldGlobal) == IntPtr.Zero)
            throw new DllNotFoundException(
                $"data parallelism needs Open MPI's {Library}, which could not be loaded ({Marshal.PtrToStringAnsi(DlError())}); " +
                "install it (Debian: apt-get install openmpi-bin libopenmpi-dev, or run scripts/setup.sh as root)");
        var library = NativeLibrary.Load(Library);
        IntPtr Global(string name) => NativeLibrary.GetExport(library, name);
        return new Handles(Global("ompi_mpi_comm_world"), Global("ompi_mpi_float"), Global("ompi_mpi_double"),
            Global("ompi_mpi_int64_t"), Global("ompi_mpi_byte"), Global("ompi_mpi_op_sum"));
    }

    /// <summary>MPI's default error handler aborts the job on failure; a nonzero code that still comes back is raised here.</summary>
    public static void Check(int code, string call)
    {
        if (code != 0) throw new InvalidOperationException($"{call} failed with MPI error code {code}");
    }
}
