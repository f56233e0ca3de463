using System.Text.Json;
using ModelDsl.Core;
using ModelDsl.Core.Json;
using ModelDsl.Runtime.Runs;

namespace ModelDsl.Runtime.Sweeps;

/// <summary>
/// A sweep point written out for a process that did not run the search (a cluster's array task):
/// points/&lt;key&gt;/spec.json (the experiment, as `modeldsl run` reads it) and point.json (which arm,
/// budget and grid point it is, and its run directory). Reading checks that the spec still hashes
/// to the key, so a task never records a result under another configuration's key.
/// </summary>
public static class SweepPointFiles
{
    private sealed record PointFile(string Sweep, string Arm, double? Ratio, int[] Point, ValueFile[] Values, string Key, string RunDirectory);
    private sealed record ValueFile(string Label, double Value);

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static string FolderOf(SweepDirectory directory, string key) => Path.Combine(directory.Path, "points", key);

    public static void Write(SweepDirectory directory, SweepPoint point)
    {
        var folder = FolderOf(directory, point.Key);
        Directory.CreateDirectory(folder);
        AtomicFile.WriteAllText(Path.Combine(folder, "spec.json"), SpecJson.Serialize(point.Experiment));
        var file = new PointFile(point.Sweep, point.Arm, point.Ratio, point.Point.ToArray(),
            point.Values.Select(v => new ValueFile(v.Label, v.Value)).ToArray(), point.Key, point.RunDirectory);
        AtomicFile.WriteAllText(Path.Combine(folder, "point.json"), JsonSerializer.Serialize(file, Json));
    }

    public static SweepPoint Read(SweepDirectory directory, string key)
    {
        var folder = FolderOf(directory, key);
        var pointPath = Path.Combine(folder, "point.json");
        var specPath = Path.Combine(folder, "spec.json");
        if (!File.Exists(pointPath) || !File.Exists(specPath))
            throw new SpecFormatException($"{folder}: no sweep point {key} (point.json and spec.json are written when the point is submitted)");
        PointFile file;
        try { file = JsonSerializer.Deserialize<PointFile>(File.ReadAllText(pointPath), Json) ?? throw new JsonException("null"); }
        catch (JsonException e) { throw new SpecFormatException($"{pointPath}: not a sweep point file: {e.Message}", e); }
        if (file.Key != key) throw new SpecFormatException($"{pointPath}: key is '{file.Key}', expected '{key}'");
        var experiment = SpecJson.Deserialize<ExperimentSpec>(File.ReadAllText(specPath), specPath);
        var actual = RunStore.KeyOf(experiment);
        if (actual != key) throw new SpecFormatException($"{specPath}: the experiment hashes to key {actual}, not {key}; the file was changed");
        return new SweepPoint(file.Sweep, file.Arm, file.Ratio, file.Point, file.Values.Select(v => (v.Label, v.Value)).ToList(),
            key, file.RunDirectory, experiment);
    }
}
