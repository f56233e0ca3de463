using System.Runtime.InteropServices;
using ModelDsl.Runtime.Native;

namespace ModelDsl.Runtime.Tests.Native;

public class HeapReuseTests
{
    /// <summary>
    /// Whether glibc served the block with its own mmap: the chunk's size word, just before the block, has
    /// bit 1 (IS_MMAPPED) set for those. Such a block is unmapped on free and faulted in afresh on every
    /// reallocation, which is the cost heap reuse removes.
    /// </summary>
    private static bool IsMapped(IntPtr block) => (Marshal.ReadInt64(block, -8) & 2) != 0;

    private static bool AllocatedByMmap(int bytes)
    {
        var block = Marshal.AllocHGlobal(bytes); // malloc on Unix
        try { return IsMapped(block); }
        finally { Marshal.FreeHGlobal(block); }
    }

    // Counting page faults of a reallocated block would test the effect itself, but the count is the whole
    // process's and a thread arena drops a secondary heap that becomes empty, so it is not deterministic;
    // where the block comes from is.
    [Fact]
    public void A_48_MiB_block_comes_from_the_heap_not_from_its_own_mapping()
    {
        if (!OperatingSystem.IsLinux()) return; // mallopt is glibc's; elsewhere the allocator's defaults stay
        Assert.True(HeapReuse.Enable());
        // Above glibc's largest default mmap threshold (32 MiB, so mapped without heap reuse), within a
        // thread arena's 64 MiB heap.
        Assert.False(AllocatedByMmap(48 << 20), "a 48 MiB block was mapped by itself: the mmap threshold is not raised");
        // Above the raised threshold blocks are still mapped: the bit does mean what the test reads it as.
        Assert.True(AllocatedByMmap(HeapReuse.MmapThreshold + (1 << 20)), "a block above the raised threshold was not mapped: the chunk header is not read right");
    }
}
