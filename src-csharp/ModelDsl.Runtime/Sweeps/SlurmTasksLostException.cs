namespace ModelDsl.Runtime.Sweeps;

/// <summary>An array task that left the queue without recording a result (cancelled, out of time,
/// killed with its node, or failed before training). State is sacct's word for it when the cluster keeps accounting.</summary>
public sealed record SlurmLostTask(SweepPoint Point, string TaskId, string? State, string LogPath)
{
    /// <summary>The last non-empty line the task wrote (often the error that ended it); null without a log.</summary>
    public string? LastLogLine()
    {
        try { return File.Exists(LogPath) ? File.ReadLines(LogPath).LastOrDefault(l => l.Trim().Length > 0)?.Trim() : null; }
        catch (IOException) { return null; }
    }
}

/// <summary>
/// Some tasks of a round ended without a result. Their points are not finished (the store still
/// says Running), so the search cannot go on; running the sweep again submits them anew, and they
/// resume from their checkpoints.
/// </summary>
public sealed class SlurmTasksLostException(IReadOnlyList<SlurmLostTask> tasks)
    : Exception(Describe(tasks))
{
    public IReadOnlyList<SlurmLostTask> Tasks { get; } = tasks;

    private static string Describe(IReadOnlyList<SlurmLostTask> tasks) =>
        $"{tasks.Count} Slurm task(s) ended without recording a result:" + string.Concat(tasks.Select(t =>
            $"\n  task {t.TaskId} ({t.Point.Describe()}): {t.State ?? "left the queue"}; log {t.LogPath}" +
            (t.LastLogLine() is { } line ? $" (last line: {line})" : "")));
}
