using System.Runtime.InteropServices;

namespace ModelDsl.Runtime.Native;

/// <summary>
/// Keeps freed tensor memory in the C heap for reuse. By default glibc's malloc hands blocks above its
/// mmap threshold (adaptive, at most 32 MiB) straight back to the system and trims the heap's top
/// above 128 KiB, so a training step, which frees and reallocates the same activations every step,
/// faults fresh zeroed pages in on every step; on a 2-core host that was about half the CPU time of
/// a small model's step (`bench/trainer/components.sh`). Raising both thresholds makes the heap
/// reuse those blocks; the price is that the resident set stays near its peak between steps instead of
/// falling. A thread's own arena holds heaps of at most 64 MiB, so blocks above that allocated off the
/// main thread are still mapped afresh. Linux with glibc only; on by default, <c>MODELDSL_MALLOC=system</c>
/// keeps glibc's own thresholds (e.g. to measure what page faults cost, or on a host short of memory).
/// </summary>
public static class HeapReuse
{
    /// <summary>The environment variable that opts out (value <c>system</c>).</summary>
    public const string Variable = "MODELDSL_MALLOC";

    /// <summary>Blocks up to this size come from the heap (and are reused) rather than from mmap.</summary>
    public const int MmapThreshold = 256 << 20;

    /// <summary>The heap's free top is returned to the system only above this size.</summary>
    public const int TrimThreshold = 1 << 30;

    private const int TrimThresholdParameter = -1, MmapThresholdParameter = -3; // M_TRIM_THRESHOLD, M_MMAP_THRESHOLD (malloc.h)

    private static readonly Lazy<bool> Applied = new(Apply);

    /// <summary>Applies the thresholds once per process unless <c>MODELDSL_MALLOC=system</c>; true when they are in effect.</summary>
    public static bool Enable() => Applied.Value;

    private static bool Apply()
    {
        if (!OperatingSystem.IsLinux()) return false;
        var choice = Environment.GetEnvironmentVariable(Variable);
        if (string.Equals(choice, "system", StringComparison.OrdinalIgnoreCase)) return false;
        if (!string.IsNullOrEmpty(choice) && !string.Equals(choice, "reuse", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"{Variable}={choice}: expected 'reuse' (the default) or 'system'");
        try
        {
            // mallopt returns 1 on success; musl and other C libraries without it end in the catch.
            return Mallopt(MmapThresholdParameter, MmapThreshold) == 1 && Mallopt(TrimThresholdParameter, TrimThreshold) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int Mallopt(int parameter, int value);
}
