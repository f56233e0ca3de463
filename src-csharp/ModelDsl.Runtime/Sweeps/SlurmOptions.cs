namespace ModelDsl.Runtime.Sweeps;

/// <summary>How the Slurm backend submits a sweep's runs; null resources are left to the cluster's defaults.</summary>
public sealed record SlurmOptions
{
    /// <summary>The `modeldsl` command each array task runs, program first (e.g. ["dotnet", ".../modeldsl.dll"]);
    /// the task appends `sweep-task &lt;sweep folder&gt; &lt;key&gt;`.</summary>
    public IReadOnlyList<string> TaskCommand { get; init; } = [];
    /// <summary>sbatch --partition.</summary>
    public string? Partition { get; init; }
    /// <summary>sbatch --time: each task's time limit ("30", "1:00:00", "2-0").</summary>
    public string? Time { get; init; }
    /// <summary>sbatch --cpus-per-task; a spec without a thread count trains on this many.</summary>
    public int? CpusPerTask { get; init; }
    /// <summary>sbatch --gpus: GPUs for each task (each array task is its own job).</summary>
    public int? Gpus { get; init; }
    /// <summary>How often the queue and the run store are read while waiting for a round.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Progress lines (submissions, tasks that ended without a result).</summary>
    public Action<string>? OnMessage { get; init; }

    /// <summary>Every rule the options break, with the option's name.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (TaskCommand.Count == 0 || string.IsNullOrWhiteSpace(TaskCommand[0])) problems.Add("the task command is empty");
        if (Partition is { } p && (p.Length == 0 || p.Any(char.IsWhiteSpace))) problems.Add($"--partition '{p}': must be a partition name without spaces");
        if (Time is { } t && (t.Length == 0 || t.Any(char.IsWhiteSpace))) problems.Add($"--time '{t}': must be a Slurm time such as 30, 1:00:00 or 2-0");
        if (CpusPerTask is { } c && c < 1) problems.Add($"--cpus {c}: must be at least 1");
        if (Gpus is { } g && g < 0) problems.Add($"--gpus {g}: must be zero or more");
        if (PollInterval <= TimeSpan.Zero) problems.Add("the poll interval must be positive");
        return problems;
    }
}
