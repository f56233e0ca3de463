using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace ModelDsl.Runtime.Runs;

/// <summary>A run directory held by another live process; names the holder.</summary>
public sealed class RunLockedException(string directory, RunLockHolder holder)
    : Exception($"run directory '{directory}' is in use by process {holder.Pid} on host '{holder.Host}' " +
                $"(since {holder.StartedUtc.ToString("u", CultureInfo.InvariantCulture)}); wait for it to finish or stop it first")
{
    public RunLockHolder Holder { get; } = holder;
}

/// <summary>Who holds a run directory: written to its run.lock file.</summary>
public sealed record RunLockHolder(int Pid, string Host, DateTime StartedUtc);

/// <summary>
/// run.lock: one training process per run directory. The file is created exclusively and holds the
/// holder's pid and host; a lock left by a process that no longer exists on this host is stale and
/// taken over. Disposing removes the file.
/// </summary>
public sealed class RunLock : IDisposable
{
    private readonly string path;
    private bool released;

    private RunLock(string path) => this.path = path;

    public const string FileName = "run.lock";

    /// <param name="onTakeover">Told when a stale lock of a dead process is taken over.</param>
    public static RunLock Acquire(string runDirectory, Action<string>? onTakeover = null)
    {
        var path = Path.Combine(runDirectory, FileName);
        var me = new RunLockHolder(Environment.ProcessId, Environment.MachineName, DateTime.UtcNow);
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                using (var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                {
                    JsonSerializer.Serialize(stream, me);
                    stream.Flush(flushToDisk: true);
                }
                return new RunLock(path);
            }
            catch (IOException) when (File.Exists(path) && attempt < 3)
            {
                var holder = ReadHolder(path);
                if (holder is not null && !IsStale(holder)) throw new RunLockedException(runDirectory, holder);
                onTakeover?.Invoke(holder is null
                    ? $"run directory '{runDirectory}': removing an unreadable lock file {path}"
                    : $"run directory '{runDirectory}': taking over the stale lock of process {holder.Pid} on '{holder.Host}', which no longer runs");
                File.Delete(path);
            }
        }
    }

    /// <summary>The holder recorded in the lock file, or null when it cannot be read (a torn write).</summary>
    public static RunLockHolder? ReadHolder(string path)
    {
        try { return JsonSerializer.Deserialize<RunLockHolder>(File.ReadAllText(path)); }
        catch (Exception e) when (e is JsonException or IOException) { return null; }
    }

    /// <summary>Stale: held on this host by a pid that no process has. A lock of another host is never judged stale.</summary>
    private static bool IsStale(RunLockHolder holder)
    {
        if (!string.Equals(holder.Host, Environment.MachineName, StringComparison.Ordinal)) return false;
        try
        {
            using var process = Process.GetProcessById(holder.Pid);
            return process.HasExited;
        }
        catch (ArgumentException)
        {
            return true;
        }
    }

    public void Dispose()
    {
        if (released) return;
        released = true;
        try { File.Delete(path); }
        catch (IOException) { /* the directory may be gone; nothing else to release */ }
    }
}
