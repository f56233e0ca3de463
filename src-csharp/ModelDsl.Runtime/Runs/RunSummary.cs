using System.Text.Json;

namespace ModelDsl.Runtime.Runs;

/// <summary>summary.json: the headline numbers of a run that ended: Status "finished", or "diverged"
/// with the Message saying at which step and what was non-finite.</summary>
public sealed record RunSummary(string Name, long Steps, long Tokens, double FinalTrainLoss, double ValidationLoss, double? Accuracy,
    double WallSeconds, double TokensPerSecond, long Parameters, long NonEmbeddingParameters, string Status = RunSummary.Finished, string? Message = null)
{
    public const string Finished = "finished";
    public const string Diverged = "diverged";

    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static void Write(string path, RunSummary summary) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(summary, Options));
    public static RunSummary Read(string path) => JsonSerializer.Deserialize<RunSummary>(File.ReadAllText(path), Options)!;
}
