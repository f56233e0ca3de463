using System.Globalization;
using ModelDsl.Core.Json;
using ModelDsl.Core.Sweeps;
using ModelDsl.Runtime.Runs;

namespace ModelDsl.Runtime.Sweeps;

/// <summary>
/// The folder of one sweep: sweep.json (the spec last run), index.sqlite (the run store),
/// runs/&lt;arm&gt;/&lt;budget&gt;/&lt;values&gt;-&lt;key&gt;/ (one run directory per configuration), report.md and plots/.
/// </summary>
public sealed class SweepDirectory(string path)
{
    public string Path { get; } = System.IO.Path.GetFullPath(path);
    public string SpecPath => System.IO.Path.Combine(Path, "sweep.json");
    public string DatabasePath => System.IO.Path.Combine(Path, "index.sqlite");
    public string RunsPath => System.IO.Path.Combine(Path, "runs");
    public string ReportPath => System.IO.Path.Combine(Path, "report.md");
    public string PlotsPath => System.IO.Path.Combine(Path, "plots");

    /// <summary>A sweep's folder under the sweeps root, named after the sweep.</summary>
    public static SweepDirectory ForSweep(string sweepsRoot, string sweepName) => new(System.IO.Path.Combine(sweepsRoot, sweepName));

    public SweepSpec LoadSpec()
    {
        if (!File.Exists(SpecPath)) throw new SpecFormatException($"{Path}: not a sweep folder (no sweep.json)");
        return SpecJson.Deserialize<SweepSpec>(File.ReadAllText(SpecPath), SpecPath);
    }

    public void SaveSpec(SweepSpec spec)
    {
        Directory.CreateDirectory(Path);
        AtomicFile.WriteAllText(SpecPath, SpecJson.Serialize(spec));
    }

    /// <summary>"ratio-2" for a Chinchilla ratio, "base-budget" for the base's own budget.</summary>
    public static string BudgetLabel(double? ratio) =>
        ratio is { } r ? "ratio-" + r.ToString("G6", CultureInfo.InvariantCulture) : "base-budget";

    public string RunPath(string arm, double? ratio, IReadOnlyList<(string Label, double Value)> values, string key)
    {
        var describe = values.Count == 0 ? "base"
            : string.Join("_", values.Select(v => $"{v.Label}={v.Value.ToString("G6", CultureInfo.InvariantCulture)}"));
        return System.IO.Path.Combine(RunsPath, arm, BudgetLabel(ratio), $"{describe}-{key[..8]}");
    }
}
