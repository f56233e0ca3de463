using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelDsl.Runtime.Runs;

/// <summary>
/// metrics.jsonl: one JSON object per line, each with an "event" ("train" or "eval") and a "step".
/// Lines are flushed as they are written so a crashed run keeps what it logged.
/// </summary>
public sealed class MetricsLog : IDisposable
{
    private readonly StreamWriter writer;

    private MetricsLog(string path, FileMode mode)
    {
        Path = path;
        writer = new StreamWriter(new FileStream(path, mode, FileAccess.Write, FileShare.Read), new UTF8Encoding(false)) { AutoFlush = true };
    }

    public string Path { get; }

    /// <summary>
    /// Opens the log for a run continuing after <paramref name="resumedStep"/> (0 for a fresh run):
    /// events logged after that step by an interrupted attempt are dropped, so the file reads as if
    /// the run had never stopped.
    /// </summary>
    public static MetricsLog Open(string path, long resumedStep)
    {
        var kept = File.Exists(path)
            ? File.ReadLines(path).Where(line => line.Length > 0 && StepOf(line) is { } s && s <= resumedStep).ToList()
            : [];
        if (resumedStep == 0) kept.Clear();
        AtomicFile.WriteAllText(path, kept.Count == 0 ? "" : string.Join("\n", kept) + "\n");
        return new MetricsLog(path, FileMode.Append);
    }

    public void Write(string eventName, long step, IEnumerable<KeyValuePair<string, object?>> values)
    {
        var line = new JsonObject { ["event"] = eventName, ["step"] = step };
        foreach (var (key, value) in values)
            line[key] = value switch
            {
                null => null,
                // JSON has no NaN or infinity; they are written as strings ("NaN") rather than dropped.
                double d when !double.IsFinite(d) => JsonValue.Create(d.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                double d => JsonValue.Create(d),
                long l => JsonValue.Create(l),
                int i => JsonValue.Create(i),
                bool b => JsonValue.Create(b),
                string s => JsonValue.Create(s),
                _ => throw new ArgumentException($"metric '{key}' has unsupported type {value.GetType().Name}"),
            };
        writer.WriteLine(line.ToJsonString());
    }

    /// <summary>Parses every line of a metrics file.</summary>
    public static IReadOnlyList<JsonObject> Read(string path) =>
        File.ReadLines(path).Where(l => l.Length > 0).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();

    private static long? StepOf(string line)
    {
        try
        {
            return JsonNode.Parse(line)?["step"]?.GetValue<long>();
        }
        catch (JsonException)
        {
            return null; // a torn last line from a crash is dropped
        }
    }

    public void Dispose() => writer.Dispose();
}
