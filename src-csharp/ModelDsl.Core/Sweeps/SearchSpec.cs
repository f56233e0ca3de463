using ModelDsl.Core.Variants;
using System.Text.Json.Serialization;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Sweeps;

/// <summary>How the points of a sweep's grid are chosen.</summary>
public abstract record SearchSpec
{
    /// <param name="gridSizes">Values per axis of the arm the search belongs to.</param>
    public abstract void Validate(Validator v, string path, IReadOnlyList<int> gridSizes);
}

/// <summary>Every point of the Cartesian product of the axes.</summary>
[Kind("grid")]
public sealed record GridSearch : SearchSpec
{
    public override void Validate(Validator v, string path, IReadOnlyList<int> gridSizes) { }
}

/// <summary>
/// Coordinate descent ("Fantastic Pretraining Optimizers", arXiv 2509.02046, §3): from a start point
/// run every one-axis move to a neighbouring grid value, move to the best, and stop when every
/// neighbour of the best has run. A move needs an improvement of at least TieThreshold (smaller
/// differences are ties and keep the current point); diverged runs are never chosen.
/// </summary>
[Kind("coordinateDescent")]
public sealed record CoordinateDescentSearch : SearchSpec
{
    /// <summary>Grid index per axis to start from; null starts at the middle of every grid.</summary>
    public ValueList<int>? Start { get; init; }
    public double TieThreshold { get; init; } = 3e-3;
    /// <summary>
    /// Edge widening: when the best value of an axis (of three or more values) is its grid's first or
    /// last, the axis gains one value beyond that edge (by the grid's ratio there) and the descent
    /// continues, up to this many extensions per side of each axis. Null (the default) never widens.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? MaxEdgeExtensions { get; init; }

    public override void Validate(Validator v, string path, IReadOnlyList<int> gridSizes)
    {
        v.NonNegative(TieThreshold, $"{path}.tieThreshold");
        if (MaxEdgeExtensions is { } extensions)
            v.Require(extensions >= 0 && extensions <= 20, $"{path}.maxEdgeExtensions", $"{extensions} must lie in [0, 20]");
        if (Start is not { } start) return;
        if (start.Count != gridSizes.Count)
        {
            v.Fail($"{path}.start", $"has {start.Count} indices but the sweep has {gridSizes.Count} axes");
            return;
        }
        for (var i = 0; i < start.Count; i++)
            v.Require(start[i] >= 0 && start[i] < gridSizes[i], $"{path}.start[{i}]",
                $"{start[i]} is not an index of axis {i}'s grid (0 .. {gridSizes[i] - 1})");
    }

    /// <summary>The start point for grids of the given sizes.</summary>
    public int[] StartPoint(IReadOnlyList<int> gridSizes) =>
        Start is { } start ? start.ToArray() : gridSizes.Select(n => (n - 1) / 2).ToArray();
}
