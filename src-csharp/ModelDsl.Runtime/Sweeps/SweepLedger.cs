using System.Text.Json;
using ModelDsl.Core.Json;
using ModelDsl.Runtime.Runs;

namespace ModelDsl.Runtime.Sweeps;

/// <summary>
/// A sweep's results as plain text: one JSON line per finished or diverged run (its key, arm, budget,
/// grid point, values, losses, steps, wall-clock). It is small enough to keep under version control
/// next to a study, so a sweep whose run folders are gone (another machine, a fresh clone) resumes
/// from it: <see cref="Import"/> puts every entry the run store lacks into the store, and the
/// deterministic search replays its decisions over them. Keys hash the whole experiment, so an entry
/// is reused only by the exact configuration that produced it. Failed runs are not written: a resumed
/// sweep trains them again.
/// </summary>
public sealed class SweepLedger(string path)
{
    private sealed record Line(string Key, string Sweep, string Arm, double? Ratio, int[] Point, ValueLine[] Values, string Status,
        double? ValidationLoss, double? TrainLoss, long? Steps, double? WallSeconds, string? Error);
    private sealed record ValueLine(string Label, double Value);

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        // A diverged run's last training loss may be NaN or infinite.
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string Path { get; } = System.IO.Path.GetFullPath(path);

    /// <summary>Appends a finished or diverged run unless the ledger has it (others are ignored).</summary>
    public void Append(RunStoreEntry run)
    {
        if (run.Status is not (RunStoreStatus.Finished or RunStoreStatus.Diverged)) return;
        if (File.Exists(Path) && File.ReadAllText(Path).Contains($"\"key\":\"{run.Key}\"", StringComparison.Ordinal)) return;
        var line = new Line(run.Key, run.SweepId, run.Arm, run.Ratio, run.Point.ToArray(),
            run.Values.Select(v => new ValueLine(v.Label, v.Value)).ToArray(), run.Status.ToString(),
            run.ValidationLoss, run.TrainLoss, run.Steps, run.WallSeconds, run.Error);
        JsonLinesFile.Append(Path, JsonSerializer.Serialize(line, Json));
    }

    /// <summary>
    /// Every entry of the ledger, in order, with the run directory the sweep folder gives its key. A last line without its newline (a process killed while
    /// appending) is skipped; any other line that is not a ledger entry is an error naming the line.
    /// </summary>
    public IReadOnlyList<RunStoreEntry> Read(SweepDirectory directory)
    {
        if (!File.Exists(Path)) return [];
        var text = File.ReadAllText(Path);
        var lines = text.Split('\n');
        var entries = new List<RunStoreEntry>();
        for (var i = 0; i < lines.Length; i++)
        {
            var raw = lines[i].Trim();
            if (raw.Length == 0) continue;
            var torn = i == lines.Length - 1; // no newline after it
            Line? line;
            try { line = JsonSerializer.Deserialize<Line>(raw, Json); }
            catch (JsonException e)
            {
                if (torn) continue;
                throw new SpecFormatException($"{Path}:{i + 1}: not a sweep ledger line: {e.Message}", e);
            }
            if (line is null || line.Key is null || line.Arm is null || line.Sweep is null || line.Point is null || line.Values is null
                || !Enum.TryParse<RunStoreStatus>(line.Status, out var status) || status is not (RunStoreStatus.Finished or RunStoreStatus.Diverged))
            {
                if (torn) continue;
                throw new SpecFormatException($"{Path}:{i + 1}: a ledger line needs key, sweep, arm, point, values and a Finished or Diverged status");
            }
            if (status == RunStoreStatus.Finished && line.ValidationLoss is not { } loss)
                throw new SpecFormatException($"{Path}:{i + 1}: finished run {line.Key} has no validation loss");
            var values = line.Values.Select(v => (v.Label, v.Value)).ToList();
            entries.Add(new RunStoreEntry(line.Key, line.Sweep, line.Arm, line.Ratio, line.Point, values, status, line.ValidationLoss,
                line.TrainLoss, line.Steps, line.WallSeconds, directory.RunPath(line.Arm, line.Ratio, values, line.Key), line.Error, DateTime.UtcNow));
        }
        return entries;
    }

    /// <summary>Puts every ledger entry the store does not hold as finished or diverged into it; returns how many.</summary>
    public int Import(RunStore store, SweepDirectory directory)
    {
        var imported = 0;
        foreach (var entry in Read(directory))
        {
            if (store.Find(entry.Key) is { Status: RunStoreStatus.Finished or RunStoreStatus.Diverged }) continue;
            store.MarkRunning(entry.Key, entry.SweepId, entry.Arm, entry.Ratio, entry.Point, entry.Values, entry.RunDirectory);
            store.Complete(entry.Key, entry.Status, entry.ValidationLoss, entry.TrainLoss, entry.Steps, entry.WallSeconds, entry.Error);
            imported++;
        }
        return imported;
    }

    /// <summary>Writes a ledger of every finished and diverged run a store holds for a sweep (for a sweep run before ledgers).</summary>
    public void ExportFrom(RunStore store, string sweepId)
    {
        foreach (var run in store.RunsOf(sweepId)) Append(run);
    }
}
