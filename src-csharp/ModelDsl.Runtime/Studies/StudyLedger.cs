using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ModelDsl.Core;
using ModelDsl.Core.Json;
using ModelDsl.Runtime.Runs;

namespace ModelDsl.Runtime.Studies;

/// <summary>
/// A study's finished runs as plain text: one JSON line per run (its key, name, steps, whether it
/// stopped early, every evaluation). Kept under version control next to the study's report, it lets
/// a long study stop at any time and resume on any machine: <see cref="StudyTrainer.Train"/> returns
/// the recorded run for a configuration it has seen instead of training it again. The key hashes the
/// experiment spec (as the run store does, without the thread count) and the trainer's stop settings;
/// a stop rule passed as a function cannot be hashed, so a study that changes its rule uses a new
/// ledger (the rule's name belongs in the file name).
/// </summary>
public sealed class StudyLedger(string path)
{
    private sealed record Line(string Key, string Name, long Steps, bool StoppedEarly, StudyEval[] Evals);

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string Path { get; } = System.IO.Path.GetFullPath(path);

    /// <summary>The key of a run: the spec's run-store key and the stop settings that shape its result.</summary>
    public static string KeyOf(ExperimentSpec spec, double? stopAtAccuracy, int entropyRows) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("|", RunStore.KeyOf(spec),
            stopAtAccuracy?.ToString("R", CultureInfo.InvariantCulture) ?? "-", entropyRows.ToString(CultureInfo.InvariantCulture)))))[..16];

    /// <summary>The recorded run with this key, or null.</summary>
    public StudyRun? Find(string key) =>
        Read().TryGetValue(key, out var line) ? new StudyRun(line.Name, "", line.Steps, line.StoppedEarly, line.Evals) : null;

    /// <summary>Records a finished run (one flushed write; a killed process leaves at most a torn last line, which is ignored).</summary>
    public void Append(string key, StudyRun run)
    {
        JsonLinesFile.Append(Path, JsonSerializer.Serialize(new Line(key, run.Name, run.Steps, run.StoppedEarly, run.Evals.ToArray()), Json));
    }

    private Dictionary<string, Line> Read()
    {
        var lines = new Dictionary<string, Line>();
        if (!File.Exists(Path)) return lines;
        var raw = File.ReadAllText(Path).Split('\n');
        for (var i = 0; i < raw.Length; i++)
        {
            var text = raw[i].Trim();
            if (text.Length == 0) continue;
            Line? line = null;
            try { line = JsonSerializer.Deserialize<Line>(text, Json); }
            catch (JsonException e) when (i < raw.Length - 1)
            {
                throw new SpecFormatException($"{Path}:{i + 1}: not a study ledger line: {e.Message}", e);
            }
            catch (JsonException) { continue; } // a torn last line: the run is trained again
            if (line?.Key is null || line.Name is null || line.Evals is null)
                throw new SpecFormatException($"{Path}:{i + 1}: a study ledger line needs key, name and evals");
            lines[line.Key] = line;
        }
        return lines;
    }
}
