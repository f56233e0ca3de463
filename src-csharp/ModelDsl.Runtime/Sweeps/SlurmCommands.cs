using System.Diagnostics;

namespace ModelDsl.Runtime.Sweeps;

/// <summary>A Slurm command that could not be run or that reported an error.</summary>
public sealed class SlurmException(string message) : Exception(message);

/// <summary>The Slurm client commands the backend uses (sbatch, squeue, sacct), run as child processes.</summary>
public static class SlurmCommands
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>Submits a batch script; returns the job id (sbatch --parsable prints "id" or "id;cluster").</summary>
    public static string Submit(IReadOnlyList<string> arguments)
    {
        var (code, output, error) = Run("sbatch", ["--parsable", .. arguments]);
        if (code != 0) throw new SlurmException($"sbatch failed (exit {code}): {error.Trim()}");
        var id = output.Trim().Split(';')[0];
        if (id.Length == 0 || !id.All(char.IsAsciiDigit)) throw new SlurmException($"sbatch printed no job id: '{output.Trim()}'");
        return id;
    }

    /// <summary>The state of every queued or running task of this user's jobs with the given name, by
    /// task id ("17_3"); null when squeue could not answer (the caller asks again later).</summary>
    public static IReadOnlyDictionary<string, string>? QueuedTasks(string jobName, out string? problem)
    {
        // -r lists each array task on its own line, pending ones included.
        var (code, output, error) = Run("squeue", ["--noheader", "--array", "--me", $"--name={jobName}", "--format=%i|%T"]);
        if (code != 0)
        {
            problem = $"squeue failed (exit {code}): {error.Trim()}";
            return null;
        }
        problem = null;
        var tasks = new Dictionary<string, string>();
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = line.Split('|');
            if (parts.Length == 2) tasks[parts[0]] = parts[1];
        }
        return tasks;
    }

    /// <summary>How a finished task ended (CANCELLED, TIMEOUT, FAILED, ...) when the cluster keeps
    /// accounting; null when sacct is missing, disabled or does not know the task.</summary>
    public static string? FinalState(string taskId)
    {
        try
        {
            var (code, output, _) = Run("sacct", ["--noheader", "--parsable2", "--allocations", $"--jobs={taskId}", "--format=State"]);
            var state = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
            return code == 0 && !string.IsNullOrEmpty(state) ? state : null;
        }
        catch (SlurmException) { return null; }
    }

    private static (int Code, string Output, string Error) Run(string program, IReadOnlyList<string> arguments)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        Process process;
        try { process = Process.Start(info) ?? throw new SlurmException($"{program} did not start"); }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new SlurmException($"{program} could not be run ({e.Message}); the Slurm backend needs Slurm's client commands on PATH");
        }
        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(Timeout))
            {
                process.Kill(entireProcessTree: true);
                throw new SlurmException($"{program} did not answer within {Timeout.TotalSeconds:F0} s");
            }
            return (process.ExitCode, output.Result, error.Result);
        }
    }
}
