using System.Globalization;
using ModelDsl.Core;
using ModelDsl.Core.Json;

namespace ModelDsl.Runtime.Runs;

/// <summary>
/// The folder one run writes: spec.json, metrics.jsonl (one JSON object per event), checkpoints/,
/// summary.json and plots/. A new run gets <c>&lt;root&gt;/&lt;name&gt;-&lt;yyyyMMdd-HHmmss&gt;</c>.
/// </summary>
public sealed class RunDirectory
{
    private RunDirectory(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        try
        {
            Directory.CreateDirectory(Path);
            Directory.CreateDirectory(CheckpointsPath);
            Directory.CreateDirectory(PlotsPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // .NET names the part of the path that failed, not always the run directory: say both,
            // and name a file that stands where a folder is needed.
            var blocking = FileInTheWay(Path);
            var why = blocking is null ? e.Message : $"'{blocking}' is a file, not a folder";
            throw new IOException($"cannot create run directory '{Path}': {why}", e);
        }
    }

    /// <summary>The nearest existing ancestor of <paramref name="path"/> (or the path itself) when it is a file; else null.</summary>
    private static string? FileInTheWay(string path)
    {
        for (var p = path; !string.IsNullOrEmpty(p); p = System.IO.Path.GetDirectoryName(p))
        {
            if (File.Exists(p)) return p;
            if (Directory.Exists(p)) return null;
        }
        return null;
    }

    public string Path { get; }
    public string SpecPath => System.IO.Path.Combine(Path, "spec.json");
    public string MetricsPath => System.IO.Path.Combine(Path, "metrics.jsonl");
    public string SummaryPath => System.IO.Path.Combine(Path, "summary.json");
    public string CheckpointsPath => System.IO.Path.Combine(Path, "checkpoints");
    public string PlotsPath => System.IO.Path.Combine(Path, "plots");
    public string TensorBoardPath => System.IO.Path.Combine(Path, "tensorboard");
    public string LossPlotPath => System.IO.Path.Combine(PlotsPath, "loss.png");

    /// <summary>A fresh directory named after the experiment and the start time (a numeric suffix avoids collisions).</summary>
    public static RunDirectory CreateNew(string root, string name, DateTime startTime)
    {
        var stem = System.IO.Path.Combine(root, $"{name}-{startTime.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}");
        var path = stem;
        for (var suffix = 2; Directory.Exists(path); suffix++) path = $"{stem}-{suffix}";
        return new RunDirectory(path);
    }

    /// <summary>An explicit directory, created when missing (an existing one is resumed by the trainer).</summary>
    public static RunDirectory Open(string path) => new(path);

    /// <summary>Deletes temporary files (".name.guid.tmp") that an interrupted atomic write left in the
    /// run directory and its checkpoints/ folder; returns their paths. Call only while holding the run lock.</summary>
    public IReadOnlyList<string> RemoveStaleTemporaryFiles()
    {
        var removed = new List<string>();
        foreach (var folder in new[] { Path, CheckpointsPath })
            foreach (var file in Directory.EnumerateFiles(folder, ".*.tmp"))
            {
                File.Delete(file);
                removed.Add(file);
            }
        return removed;
    }

    /// <summary>Writes spec.json, or checks that an existing one describes the same experiment.</summary>
    public void WriteOrCheckSpec(ExperimentSpec spec)
    {
        var json = SpecJson.Serialize(spec);
        if (File.Exists(SpecPath))
        {
            var existing = SpecJson.Deserialize<ExperimentSpec>(File.ReadAllText(SpecPath), SpecPath);
            if (existing != spec)
                throw new InvalidOperationException(
                    $"run directory '{Path}' holds a different experiment in {SpecPath}; use a new directory or the same spec to resume");
            return;
        }
        AtomicFile.WriteAllText(SpecPath, json);
    }
}
