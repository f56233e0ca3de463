using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Sweeps;

/// <summary>
/// One hyperparameter of a sweep: a path into the experiment's JSON (camelCase field names, e.g.
/// "training.optimizer.lr"; list elements as "model.blocks[0].attention.heads") and the grid of values
/// it takes. Values are set through the JSON, so any numeric field of any IR record can be swept.
/// </summary>
public sealed record SweepAxis
{
    public string Path { get; init; } = "";
    /// <summary>Short label for tables and run folders; null uses the path's last field ("lr").</summary>
    public string? Name { get; init; }
    /// <summary>The grid, in order: coordinate descent moves between neighbouring entries.</summary>
    public ValueList<double> Values { get; init; } = ValueList<double>.Empty;

    [System.Text.Json.Serialization.JsonIgnore]
    public string Label => Name ?? LastField(Path);

    public void Validate(Validator v, string path)
    {
        v.Require(!string.IsNullOrWhiteSpace(Path), $"{path}.path", "a path into the experiment is required (e.g. training.optimizer.lr)");
        v.Require(Label.Length > 0 && Label.IndexOfAny(System.IO.Path.GetInvalidFileNameChars()) < 0 && !Label.Contains('=') && !Label.Contains(','),
            $"{path}.name", $"'{Label}' must be a non-empty label without '/', '=' or ','");
        if (Values is null || Values.Count == 0)
        {
            v.Fail($"{path}.values", "the grid needs at least one value");
            return;
        }
        for (var i = 0; i < Values.Count; i++)
            v.Require(double.IsFinite(Values[i]), $"{path}.values[{i}]", $"{Validator.Show(Values[i])} is not a finite number");
        v.Require(Values.Distinct().Count() == Values.Count, $"{path}.values", "the grid repeats a value");
    }

    private static string LastField(string path)
    {
        if (string.IsNullOrEmpty(path)) return "";
        var last = path[(path.LastIndexOf('.') + 1)..];
        var bracket = last.IndexOf('[');
        return bracket >= 0 ? last[..bracket] : last;
    }
}
