using ModelDsl.Core;
using ModelDsl.Core.Sweeps;

namespace ModelDsl.Runtime.Sweeps;

/// <summary>The search of one arm: its outcome over the arm's final grid (Arm, widened when the search widens), and per-axis widening.</summary>
public sealed record ArmSearchOutcome(SweepArm Arm, SearchOutcome Outcome, IReadOnlyList<AxisWidening> Widening);

/// <summary>
/// Runs an arm's search (grid, or coordinate descent with optional edge widening) against an
/// objective that is given the arm as it stands (its axes widened so far) and a round of its points.
/// The runner trains with it and the report replays it from the run store, so both make the same decisions.
/// </summary>
public static class ArmSearch
{
    public static ArmSearchOutcome Run(SweepArm arm, DivergenceRule divergence, Func<SweepArm, IReadOnlyList<GridPoint>, IReadOnlyList<double>> evaluateRound)
    {
        var sizes = arm.GridSizes;
        switch (arm.Search)
        {
            case CoordinateDescentSearch search:
                var widened = EdgeWidening.Run(arm.Axes.Select(a => (IReadOnlyList<double>)a.Values).ToList(), new GridPoint(search.StartPoint(sizes)),
                    search.TieThreshold, divergence, search.MaxEdgeExtensions ?? 0, (axis, value) => Rejects(arm, axis, value),
                    (grid, points) => evaluateRound(WithGrid(arm, grid), points));
                return new ArmSearchOutcome(WithGrid(arm, widened.Grid), widened.Outcome, widened.Axes);
            case GridSearch:
                var outcome = GridSearchRunner.RunInRounds(sizes, divergence, points => evaluateRound(arm, points));
                return new ArmSearchOutcome(arm, outcome, arm.Axes.Select(_ => new AxisWidening(0, 0, false, null)).ToList());
            default:
                throw new NotSupportedException($"search {arm.Search.GetType().Name} is not implemented");
        }
    }

    /// <summary>The arm with each axis's values replaced by the grid's.</summary>
    public static SweepArm WithGrid(SweepArm arm, IReadOnlyList<IReadOnlyList<double>> grid) =>
        arm with { Axes = new ValueList<SweepAxis>(arm.Axes.Select((axis, i) => axis with { Values = new ValueList<double>(grid[i].ToArray()) }).ToArray()) };

    /// <summary>Why an axis cannot take a value (the edited experiment would not validate), or null when it can.</summary>
    private static string? Rejects(SweepArm arm, int axis, double value)
    {
        try
        {
            var edited = ExperimentEdit.Apply(arm.Base, [(arm.Axes[axis].Path, value)]);
            var errors = edited.Validate();
            return errors.Count == 0 ? null : $"{arm.Axes[axis].Label} = {value:G6} gives an invalid experiment: {errors[0]}";
        }
        catch (ExperimentEditException e)
        {
            return $"{arm.Axes[axis].Label} = {value:G6}: {e.Message}";
        }
    }
}
