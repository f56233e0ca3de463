using System.Text;
using ModelDsl.Runtime.Runs;

namespace ModelDsl.Runtime.Sweeps;

/// <summary>
/// Trains a round's points as one Slurm job array: each task runs `modeldsl sweep-task` on one
/// point (written under points/&lt;key&gt;/) and records its outcome in the sweep's run store. The
/// backend then waits, reading the queue (squeue) and the store, until every task has either
/// recorded a result or left the queue without one; the latter are reported, never counted as done.
/// Submitted task ids are kept in slurm/jobs.tsv, so a rerun after this process died waits for the
/// tasks still queued or running and submits only the rest.
/// </summary>
public sealed class SlurmSweepBackend : ISweepBackend
{
    private readonly SlurmOptions options;

    public SlurmSweepBackend(SlurmOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Problems();
        if (problems.Count > 0) throw new ArgumentException("Slurm backend: " + string.Join("; ", problems), nameof(options));
        this.options = options;
    }

    /// <summary>The job name of a sweep's arrays; squeue is asked for this name only.</summary>
    public static string JobName(string sweepName) => "modeldsl-" + sweepName;

    public IReadOnlyList<RunStoreEntry> RunRound(SweepContext context, IReadOnlyList<SweepPoint> points)
    {
        var ledger = new SlurmJobLedger(context.Directory);
        var jobName = JobName(context.Spec.Name);
        // Before submitting anything, an unreachable cluster is reported soon rather than waited for.
        var queued = WaitForQueue(jobName, context.Options.Cancellation, attempts: 3);
        var submitted = ledger.LatestTasks();

        // Points whose last task is still queued or running are waited for; the others are submitted.
        var tasks = new Dictionary<string, string>();
        var toSubmit = new List<SweepPoint>();
        foreach (var point in points)
        {
            if (submitted.TryGetValue(point.Key, out var task) && queued.ContainsKey(task))
            {
                tasks[point.Key] = task;
                Say($"waiting for task {task} ({point.Describe()}), submitted earlier");
            }
            else toSubmit.Add(point);
        }
        if (toSubmit.Count > 0)
        {
            var jobId = Submit(context, ledger, jobName, toSubmit);
            for (var i = 0; i < toSubmit.Count; i++) tasks[toSubmit[i].Key] = $"{jobId}_{i}";
        }
        return Wait(context, ledger, jobName, points, tasks);
    }

    private string Submit(SweepContext context, SlurmJobLedger ledger, string jobName, IReadOnlyList<SweepPoint> points)
    {
        var logs = Path.Combine(ledger.FolderPath, "logs");
        Directory.CreateDirectory(logs);
        foreach (var point in points)
        {
            SweepPointFiles.Write(context.Directory, point);
            // Cleared to Running now, so that an earlier attempt's Failed is never read as this task's result.
            context.Store.MarkRunning(point.Key, point.Sweep, point.Arm, point.Ratio, point.Point, point.Values, point.RunDirectory);
        }
        var script = Path.Combine(ledger.FolderPath, $"array-{DateTime.UtcNow:yyyyMMdd-HHmmss-fff}.sh");
        AtomicFile.WriteAllText(script, BatchScript(context.Directory.Path, points.Select(p => p.Key).ToList()));

        var arguments = new List<string>
        {
            $"--job-name={jobName}",
            $"--array=0-{points.Count - 1}",
            $"--output={Path.Combine(logs, "%A_%a.out")}",
            "--chdir=" + Environment.CurrentDirectory,
        };
        if (options.Partition is { } partition) arguments.Add($"--partition={partition}");
        if (options.Time is { } time) arguments.Add($"--time={time}");
        if (options.CpusPerTask is { } cpus) arguments.Add($"--cpus-per-task={cpus}");
        if (options.Gpus is { } gpus and > 0) arguments.Add($"--gpus={gpus}");
        arguments.Add(script);
        var jobId = SlurmCommands.Submit(arguments);
        ledger.Append(jobId, points.Select(p => p.Key).ToList());
        Say($"submitted job {jobId}: {points.Count} run(s) as array 0-{points.Count - 1}");
        for (var i = 0; i < points.Count; i++) Say($"  {jobId}_{i}: {points[i].Describe()}");
        return jobId;
    }

    /// <summary>Until every task has a result or is gone: the queue first, then the store, so that a
    /// task missing from the queue has certainly stopped writing (a result it recorded is then visible).</summary>
    private IReadOnlyList<RunStoreEntry> Wait(SweepContext context, SlurmJobLedger ledger, string jobName,
        IReadOnlyList<SweepPoint> points, IReadOnlyDictionary<string, string> tasks)
    {
        var results = new Dictionary<string, RunStoreEntry>();
        var lost = new List<SlurmLostTask>();
        while (true)
        {
            var queued = WaitForQueue(jobName, context.Options.Cancellation, attempts: 12);
            foreach (var point in points)
            {
                if (results.ContainsKey(point.Key) || lost.Any(l => l.Point.Key == point.Key)) continue;
                var task = tasks[point.Key];
                var entry = context.Store.Find(point.Key);
                if (entry is { Status: not RunStoreStatus.Running })
                {
                    results[point.Key] = entry;
                    context.Options.OnRunEnd?.Invoke(entry);
                }
                else if (!queued.ContainsKey(task))
                {
                    var log = Path.Combine(ledger.FolderPath, "logs", task + ".out");
                    var state = SlurmCommands.FinalState(task);
                    lost.Add(new SlurmLostTask(point, task, state, log));
                    Say($"task {task} ({point.Describe()}) ended without recording a result{(state is null ? "" : $" ({state})")}");
                }
            }
            if (results.Count + lost.Count == points.Count) break;
            Sleep(context.Options.Cancellation);
        }
        if (lost.Count > 0) throw new SlurmTasksLostException(lost);
        return points.Select(p => results[p.Key]).ToList();
    }

    /// <summary>The queue; a few failed attempts in a row are waited out (a busy controller), more end the wait.</summary>
    private IReadOnlyDictionary<string, string> WaitForQueue(string jobName, CancellationToken cancellation, int attempts)
    {
        for (var attempt = 1; ; attempt++)
        {
            if (SlurmCommands.QueuedTasks(jobName, out var problem) is { } queued) return queued;
            if (attempt == attempts)
                throw new SlurmException($"{problem} ({attempt} attempts); any submitted jobs keep running, and a rerun of the sweep picks them up");
            Say($"{problem}; asking again");
            Sleep(cancellation);
        }
    }

    private void Sleep(CancellationToken cancellation)
    {
        if (cancellation.WaitHandle.WaitOne(options.PollInterval)) cancellation.ThrowIfCancellationRequested();
    }

    private void Say(string message) => options.OnMessage?.Invoke(message);

    /// <summary>A bash script whose task i runs the sweep point with the i-th key.</summary>
    private string BatchScript(string sweepDirectory, IReadOnlyList<string> keys)
    {
        var script = new StringBuilder();
        script.Append("#!/bin/bash\n");
        script.Append("# Written by modeldsl sweep --backend slurm: array task i trains the sweep point keys[i].\n");
        script.Append("keys=(").Append(string.Join(' ', keys.Select(Quote))).Append(")\n");
        script.Append("exec ").Append(string.Join(' ', options.TaskCommand.Select(Quote)))
            .Append(" sweep-task ").Append(Quote(sweepDirectory)).Append(" \"${keys[$SLURM_ARRAY_TASK_ID]}\"\n");
        return script.ToString();
    }

    private static string Quote(string word) => "'" + word.Replace("'", "'\\''") + "'";
}
