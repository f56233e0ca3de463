using System.Runtime.InteropServices;
using ModelDsl.Runtime.Native;

namespace ModelDsl.Runtime.Tests.Native;

public class HeapReuseTests
{
    /// <summary>Minor page faults of this process so far (/proc/self/stat, field 10).</summary>
    private static long MinorFaults()
    {
        var stat = File.ReadAllText("/proc/self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[7]); // field 10 counted from 1; the first two (pid, comm) are cut
    }

    /// <summary>Allocates a block with the C heap (AllocHGlobal is malloc on Unix), writes one byte per page, frees it.</summary>
    private static long FaultsOfTouching(int bytes)
    {
        var block = Marshal.AllocHGlobal(bytes);
        try
        {
            var before = MinorFaults();
            for (var i = 0; i < bytes; i += 4096) Marshal.WriteByte(block, i, 1);
            return MinorFaults() - before;
        }
        finally
        {
            Marshal.FreeHGlobal(block);
        }
    }

    [Fact]
    public void A_freed_48_MiB_block_is_reused_from_the_heap_instead_of_faulted_in_again()
    {
        if (!OperatingSystem.IsLinux()) return; // mallopt is glibc's; elsewhere the allocator's defaults stay
        Assert.True(HeapReuse.Enable());
        const int bytes = 48 << 20; // above glibc's largest default mmap threshold (32 MiB), within a thread arena's 64 MiB heap
        const long pages = bytes / 4096;
        var first = FaultsOfTouching(bytes);
        var second = FaultsOfTouching(bytes);
        // The first touch may fault every page in; the second reuses them (other threads fault a few meanwhile).
        Assert.True(second < pages / 8, $"touching a reallocated 48 MiB block faulted {second} of {pages} pages (first time: {first})");
    }
}
