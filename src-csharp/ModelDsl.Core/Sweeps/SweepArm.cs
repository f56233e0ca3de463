using ModelDsl.Core.Training;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Sweeps;

/// <summary>
/// One contender of a sweep (typically one optimizer): a base experiment, the hyperparameters
/// tuned for it and how they are searched. Every arm is tuned separately at every ratio.
/// </summary>
public sealed record SweepArm
{
    /// <summary>Names the arm in tables, plots and run folders (e.g. "adamW").</summary>
    public string Label { get; init; } = "arm";
    public ExperimentSpec Base { get; init; } = new();
    public ValueList<SweepAxis> Axes { get; init; } = ValueList<SweepAxis>.Empty;
    public SearchSpec Search { get; init; } = new CoordinateDescentSearch();

    [System.Text.Json.Serialization.JsonIgnore]
    public int[] GridSizes => Axes.Select(a => a.Values.Count).ToArray();

    /// <summary>The experiment at a grid point (one index per axis), trained for a Chinchilla ratio
    /// when one is given (else for the base's own budget).</summary>
    public ExperimentSpec Resolve(IReadOnlyList<int> point, double? ratio)
    {
        if (point.Count != Axes.Count)
            throw new ArgumentException($"a point of arm '{Label}' needs {Axes.Count} indices, not {point.Count}", nameof(point));
        var spec = ExperimentEdit.Apply(Base, Axes.Select((axis, i) => (axis.Path, axis.Values[point[i]])));
        return ratio is { } r ? spec with { Training = spec.Training with { Budget = new ChinchillaBudget(r) } } : spec;
    }

    /// <summary>Axis label to value at a point, in axis order.</summary>
    public IReadOnlyList<(string Label, double Value)> Describe(IReadOnlyList<int> point) =>
        Axes.Select((axis, i) => (axis.Label, axis.Values[point[i]])).ToList();

    public void Validate(Validator v, string path)
    {
        v.Require(!string.IsNullOrWhiteSpace(Label) && Label.IndexOfAny(Path.GetInvalidFileNameChars()) < 0 && Label is not ("." or ".."),
            $"{path}.label", $"'{Label}' must be a non-empty name usable as a folder name");
        if (Base is null)
        {
            v.Fail($"{path}.base", "is missing");
            return;
        }
        foreach (var error in Base.Validate()) v.Fail($"{path}.base.{error.Path}", error.Message);
        if (Axes is null)
        {
            v.Fail($"{path}.axes", "is missing");
            return;
        }
        for (var i = 0; i < Axes.Count; i++)
        {
            var axisPath = $"{path}.axes[{i}]";
            if (Axes[i] is not { } axis)
            {
                v.Fail(axisPath, "is missing");
                continue;
            }
            var before = v.Errors.Count;
            axis.Validate(v, axisPath);
            if (v.Errors.Count > before) continue;
            // Every grid value on its own must give a valid experiment: a typo in the path or a value
            // outside a field's range is reported before anything trains.
            for (var j = 0; j < axis.Values.Count; j++)
            {
                try
                {
                    var edited = ExperimentEdit.Apply(Base, [(axis.Path, axis.Values[j])]);
                    foreach (var error in edited.Validate())
                        v.Fail($"{axisPath}.values[{j}]", $"{Validator.Show(axis.Values[j])} gives an invalid experiment: {error}");
                }
                catch (ExperimentEditException e)
                {
                    v.Fail(j == 0 ? $"{axisPath}.path" : $"{axisPath}.values[{j}]", e.Message);
                    break;
                }
            }
        }
        var labels = Axes.Where(a => a is not null).Select(a => a.Label).ToList();
        v.Require(labels.Distinct().Count() == labels.Count, $"{path}.axes", "two axes have the same label; give one a name");
        var paths = Axes.Where(a => a is not null).Select(a => a.Path).ToList();
        v.Require(paths.Distinct().Count() == paths.Count, $"{path}.axes", "two axes set the same path");
        if (Search is null) v.Fail($"{path}.search", "is missing");
        else Search.Validate(v, $"{path}.search", Axes.Where(a => a is not null).Select(a => a.Values?.Count ?? 0).ToList());
    }
}
