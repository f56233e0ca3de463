"""This process's resident memory, for the benchmarks' RSS attribution (imports no torch)."""
import ctypes


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


_libc = ctypes.CDLL("libc.so.6")
_libc.mallinfo2.restype = _MallInfo2
_libc.malloc_trim.argtypes = [ctypes.c_size_t]


def memory_mib():
    """MiB: VmRSS (now), VmHWM (peak so far), RssAnon (heaps and other anonymous pages), RssFile (pages
    of mapped files: the interpreter's and torch's libraries), and glibc malloc's view (mallinfo2):
    MallocInUse (allocated chunks, mmapped ones included) and MallocFree (freed bytes it keeps)."""
    fields = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                fields[key] = int(value.split()[0]) / 1024
    info = _libc.mallinfo2()
    fields["MallocInUse"] = (info.uordblks + info.hblkhd) / 1048576
    fields["MallocFree"] = info.fordblks / 1048576
    return fields


def reset_peak():
    """Restarts VmHWM from the current resident set (Linux's clear_refs 5)."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def trim():
    """Returns glibc malloc's free memory to the system (malloc_trim(0))."""
    _libc.malloc_trim(0)
