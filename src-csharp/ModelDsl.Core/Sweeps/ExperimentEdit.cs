using System.Text.Json.Nodes;
using ModelDsl.Core.Json;

namespace ModelDsl.Core.Sweeps;

/// <summary>A path that names no field of the experiment, or a value the field cannot take.</summary>
public sealed class ExperimentEditException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Sets numeric fields of an experiment by path, through its JSON: serialize, replace the value,
/// read back. Going through the JSON means every IR field (including optimizer variants added
/// later) is reachable without per-field code, and the result is checked by the same reader that
/// checks spec files.
/// </summary>
public static class ExperimentEdit
{
    public static ExperimentSpec Apply(ExperimentSpec spec, IEnumerable<(string Path, double Value)> edits)
    {
        var root = JsonNode.Parse(SpecJson.Serialize(spec))!;
        var any = false;
        foreach (var (path, value) in edits)
        {
            Set(root, path, value);
            any = true;
        }
        if (!any) return spec;
        try
        {
            return SpecJson.Deserialize<ExperimentSpec>(root.ToJsonString(), "the edited experiment");
        }
        catch (SpecFormatException e)
        {
            throw new ExperimentEditException(e.Message, e);
        }
    }

    /// <summary>Replaces the existing value at <paramref name="path"/>; a path to a missing field is an error, not an addition.</summary>
    public static void Set(JsonNode root, string path, double value)
    {
        var segments = Parse(path);
        var node = root;
        var walked = "";
        for (var i = 0; i < segments.Count; i++)
        {
            var (field, index) = segments[i];
            var last = i == segments.Count - 1;
            if (field is not null)
            {
                if (node is not JsonObject obj || !obj.ContainsKey(field))
                    throw new ExperimentEditException(
                        $"'{path}': {(walked.Length == 0 ? "the experiment" : walked)} has no field '{field}'" +
                        (node is JsonObject o ? $" (it has: {string.Join(", ", o.Select(p => p.Key))})" : ""));
                walked = walked.Length == 0 ? field : $"{walked}.{field}";
                if (last)
                {
                    ReplaceNumber(obj, field, path, value);
                    return;
                }
                node = obj[field]!;
            }
            else
            {
                if (node is not JsonArray array || index < 0 || index >= array.Count)
                    throw new ExperimentEditException($"'{path}': {walked} has no element [{index}]" +
                        (node is JsonArray a ? $" (it has {a.Count})" : " (it is not a list)"));
                walked = $"{walked}[{index}]";
                if (last)
                {
                    if (array[index] is not JsonValue) throw new ExperimentEditException($"'{path}': {walked} is not a number");
                    array[index] = JsonValue.Create(value);
                    return;
                }
                node = array[index]!;
            }
            if (node is null) throw new ExperimentEditException($"'{path}': {walked} is null");
        }
    }

    private static void ReplaceNumber(JsonObject obj, string field, string path, double value)
    {
        var current = obj[field];
        // A null field (an option switched off) may be given a number; objects and strings may not.
        if (current is not null && !(current is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.Number))
            throw new ExperimentEditException($"'{path}' is not a numeric field (it holds {current.GetValueKind()})");
        obj[field] = JsonValue.Create(value);
    }

    /// <summary>"a.b[2].c" as (a), (b), ([2]), (c).</summary>
    private static List<(string? Field, int Index)> Parse(string path)
    {
        var result = new List<(string?, int)>();
        if (string.IsNullOrWhiteSpace(path)) throw new ExperimentEditException("an empty path names no field");
        foreach (var part in path.Split('.'))
        {
            var bracket = part.IndexOf('[');
            var name = bracket >= 0 ? part[..bracket] : part;
            if (name.Length == 0) throw new ExperimentEditException($"'{path}': empty field name");
            result.Add((name, -1));
            var rest = bracket >= 0 ? part[bracket..] : "";
            while (rest.Length > 0)
            {
                var close = rest.IndexOf(']');
                if (rest[0] != '[' || close < 0 || !int.TryParse(rest[1..close], out var index))
                    throw new ExperimentEditException($"'{path}': '{part}' is not field or field[index]");
                result.Add((null, index));
                rest = rest[(close + 1)..];
            }
        }
        return result;
    }
}
