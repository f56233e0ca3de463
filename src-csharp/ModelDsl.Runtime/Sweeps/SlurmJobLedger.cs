using System.Globalization;

namespace ModelDsl.Runtime.Sweeps;

/// <summary>
/// slurm/jobs.tsv in a sweep folder: every array task submitted for the sweep, one line each
/// ("job id, array index, run key"), appended right after sbatch answers. A rerun of the sweep reads
/// it to wait for tasks that are still queued or running instead of submitting them again.
/// </summary>
public sealed class SlurmJobLedger(SweepDirectory directory)
{
    public string FolderPath { get; } = Path.Combine(directory.Path, "slurm");
    public string FilePath => Path.Combine(FolderPath, "jobs.tsv");

    /// <summary>The task id ("17_3") each run key was last submitted as.</summary>
    public IReadOnlyDictionary<string, string> LatestTasks()
    {
        var latest = new Dictionary<string, string>();
        if (!File.Exists(FilePath)) return latest;
        foreach (var line in File.ReadAllLines(FilePath))
        {
            // A line cut short by a crash while appending is ignored; its job is then unknown and
            // the point is submitted again (at worst trained twice, never recorded wrong).
            var fields = line.Split('\t');
            if (fields.Length == 3 && fields[0].All(char.IsAsciiDigit) && fields[0].Length > 0 &&
                int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var index) && fields[2].Length == 16)
                latest[fields[2]] = $"{fields[0]}_{index}";
        }
        return latest;
    }

    public void Append(string jobId, IReadOnlyList<string> keys)
    {
        Directory.CreateDirectory(FolderPath);
        File.AppendAllLines(FilePath, keys.Select((key, index) => $"{jobId}\t{index.ToString(CultureInfo.InvariantCulture)}\t{key}"));
    }
}
