"""This process's resident memory from /proc/self/status, for the benchmarks' RSS attribution (no torch import)."""


def memory_mib():
    """MiB: VmRSS (now), VmHWM (peak so far), RssAnon (heap and other anonymous pages) and RssFile
    (pages of mapped files: the interpreter's and torch's shared libraries)."""
    fields = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                fields[key] = int(value.split()[0]) / 1024
    return fields
