using System.Text.Json;
using ModelDsl.Core.Json;
using ModelDsl.Core.Model;

namespace ModelDsl.Runtime.FineTune;

/// <summary>
/// Compares the model spec stored in a checkpoint with the one weights are loaded into, field by
/// field in JSON form. <c>model.init</c> is skipped: initialisation does not change the shapes,
/// and a model fine-tuned with another init spec is still the same architecture.
/// </summary>
public static class ArchitectureCheck
{
    // A vision encoder's freezing and initialisation do not change its shapes either.
    private static readonly HashSet<string> Ignored = new(StringComparer.Ordinal)
        { "model.init", "vision.freezeEncoder", "vision.freezeProjector", "vision.initStd" };

    /// <summary>The first differing field as "path: checkpoint has X, spec has Y", or null when the architectures agree.</summary>
    public static string? FirstDifference(ModelSpec checkpoint, ModelSpec spec) =>
        FirstDifference(ToElement(checkpoint), ToElement(spec), "model");

    /// <summary>The same comparison on JSON elements (the "model" section of a checkpoint's spec JSON).</summary>
    public static string? FirstDifference(JsonElement checkpoint, JsonElement spec, string path)
    {
        if (Ignored.Contains(path)) return null;
        if (checkpoint.ValueKind != spec.ValueKind)
            return $"{path}: checkpoint has {Show(checkpoint)}, spec has {Show(spec)}";
        switch (checkpoint.ValueKind)
        {
            case JsonValueKind.Object:
                // The "kind" discriminator comes first so that a different layer type is reported as such.
                var names = spec.EnumerateObject().Select(p => p.Name)
                    .Union(checkpoint.EnumerateObject().Select(p => p.Name))
                    .OrderBy(n => n == "kind" ? 0 : 1).ToList();
                foreach (var name in names)
                {
                    var inCheckpoint = checkpoint.TryGetProperty(name, out var c);
                    var inSpec = spec.TryGetProperty(name, out var s);
                    if (!inCheckpoint || !inSpec)
                    {
                        if (Ignored.Contains($"{path}.{name}")) continue;
                        return $"{path}.{name}: checkpoint has {(inCheckpoint ? Show(c) : "no such field")}, spec has {(inSpec ? Show(s) : "no such field")}";
                    }
                    if (FirstDifference(c, s, $"{path}.{name}") is { } difference) return difference;
                }
                return null;
            case JsonValueKind.Array:
                var (cLength, sLength) = (checkpoint.GetArrayLength(), spec.GetArrayLength());
                if (cLength != sLength) return $"{path}: checkpoint has {cLength} entries, spec has {sLength}";
                for (var i = 0; i < cLength; i++)
                    if (FirstDifference(checkpoint[i], spec[i], $"{path}[{i}]") is { } difference) return difference;
                return null;
            default:
                return JsonElement.DeepEquals(checkpoint, spec) ? null : $"{path}: checkpoint has {Show(checkpoint)}, spec has {Show(spec)}";
        }
    }

    private static JsonElement ToElement(ModelSpec spec) => JsonDocument.Parse(SpecJson.Serialize(spec)).RootElement;

    private static string Show(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => $"a list of {e.GetArrayLength()}",
        _ => e.GetRawText(),
    };
}
