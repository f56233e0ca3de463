using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelDsl.Runtime.Runs;

/// <summary>
/// metrics.jsonl: one JSON object per line, each with an "event" ("train" or "eval") and a "step".
/// Each line goes to the file in one write and is flushed at once, so a crashed run keeps what it
/// logged and at most its last line is torn (readers skip such a line with a warning).
/// </summary>
public sealed class MetricsLog : IDisposable
{
    private readonly Stream stream;
    private readonly TensorBoardLog? tensorBoard;

    private MetricsLog(string path, FileMode mode, TensorBoardLog? tensorBoard)
    {
        Path = path;
        stream = new FileStream(path, mode, FileAccess.Write, FileShare.Read, bufferSize: 1);
        this.tensorBoard = tensorBoard;
    }

    private MetricsLog(string path, Stream stream)
    {
        Path = path;
        this.stream = stream;
    }

    /// <summary>A log that writes nothing: a data-parallel replica other than 0 (replica 0 writes the run's log).</summary>
    public static MetricsLog Discarding() => new("", Stream.Null);

    public string Path { get; }

    /// <summary>
    /// Opens the log for a run continuing after <paramref name="resumedStep"/> (0 for a fresh run):
    /// events logged after that step by an interrupted attempt are dropped, so the file reads as if
    /// the run had never stopped. With <paramref name="tensorBoardDirectory"/>, every event is also
    /// mirrored there as TensorBoard scalars (<see cref="TensorBoardLog"/>).
    /// </summary>
    public static MetricsLog Open(string path, long resumedStep, string? tensorBoardDirectory = null)
    {
        // A fresh run keeps nothing, so it does not read (whatever is there may be large or not a log at all).
        var kept = File.Exists(path) && resumedStep > 0
            ? File.ReadLines(path).Where(line => line.Length > 0 && StepOf(line) is { } s && s <= resumedStep).ToList()
            : [];
        AtomicFile.WriteAllText(path, kept.Count == 0 ? "" : string.Join("\n", kept) + "\n");
        var tensorBoard = tensorBoardDirectory is null ? null
            : TensorBoardLog.Rebuild(tensorBoardDirectory, kept.Select(line => JsonNode.Parse(line)!.AsObject()));
        return new MetricsLog(path, FileMode.Append, tensorBoard);
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
        stream.Write(Encoding.UTF8.GetBytes(line.ToJsonString() + "\n"));
        stream.Flush();
        tensorBoard?.Write(eventName, step, values);
    }

    /// <summary>Parses every line of a metrics file. A torn last line (a crash mid-write) is skipped and
    /// reported to <paramref name="onWarning"/> (standard error when null); a bad line elsewhere is an error naming the line.</summary>
    public static IReadOnlyList<JsonObject> Read(string path, Action<string>? onWarning = null)
    {
        var lines = File.ReadAllLines(path);
        var events = new List<JsonObject>();
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].Length == 0) continue;
            try
            {
                events.Add(JsonNode.Parse(lines[i])!.AsObject());
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException)
            {
                var isLast = lines.Skip(i + 1).All(l => l.Length == 0);
                if (!isLast) throw new InvalidDataException($"{path}: line {i + 1} is not a JSON object: {e.Message}", e);
                var warning = $"{path}: skipped the torn last line {i + 1} (an interrupted write)";
                if (onWarning is null) Console.Error.WriteLine("warning: " + warning); else onWarning(warning);
            }
        }
        return events;
    }

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

    public void Dispose() => stream.Dispose();
}
