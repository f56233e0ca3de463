using System.Text.Json.Nodes;
using TorchSharp.Modules;
using static TorchSharp.torch.utils;

namespace ModelDsl.Runtime.Runs;

/// <summary>
/// A TensorBoard mirror of metrics.jsonl (event files written by TorchSharp's SummaryWriter): every
/// numeric value of an event becomes the scalar "event/key" at the event's step, e.g. "train/loss",
/// "eval/valLoss". Text values are left out. The mirror is rebuilt from metrics.jsonl whenever the
/// log is opened, so after a resume it holds exactly the events the log holds, with no duplicated
/// or abandoned steps.
/// </summary>
public sealed class TensorBoardLog
{
    private readonly SummaryWriter writer;

    private TensorBoardLog(string directory)
    {
        Directory = directory;
        writer = tensorboard.SummaryWriter(directory, null, false);
    }

    public string Directory { get; }

    /// <summary>Replaces whatever <paramref name="directory"/> holds with the given events.</summary>
    public static TensorBoardLog Rebuild(string directory, IEnumerable<JsonObject> events)
    {
        if (System.IO.Directory.Exists(directory))
            foreach (var file in System.IO.Directory.GetFiles(directory, "events.out.tfevents.*")) File.Delete(file);
        System.IO.Directory.CreateDirectory(directory);
        var log = new TensorBoardLog(directory);
        foreach (var line in events)
        {
            if (line["event"]?.GetValue<string>() is not { } name || line["step"]?.GetValue<long>() is not { } step) continue;
            log.Write(name, step, line.Where(p => p.Key is not ("event" or "step")).Select(p => new KeyValuePair<string, object?>(p.Key, Scalar(p.Value))));
        }
        return log;
    }

    public void Write(string eventName, long step, IEnumerable<KeyValuePair<string, object?>> values)
    {
        // SummaryWriter takes int steps; the spec's step limit keeps runs far below int.MaxValue.
        var at = (int)Math.Min(step, int.MaxValue);
        foreach (var (key, value) in values)
        {
            float? scalar = value switch
            {
                double d => (float)d,
                float f => f,
                long l => l,
                int i => i,
                _ => null,
            };
            if (scalar is { } s) writer.add_scalar($"{eventName}/{key}", s, at, null);
        }
    }

    /// <summary>A logged value as a number when it is one (non-finite numbers are logged as "NaN", "Infinity").</summary>
    private static object? Scalar(JsonNode? node) => node switch
    {
        JsonValue v when v.TryGetValue<double>(out var d) => d,
        JsonValue v when v.TryGetValue<string>(out var s) && double.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d) && !double.IsFinite(d) => d,
        _ => null,
    };
}
