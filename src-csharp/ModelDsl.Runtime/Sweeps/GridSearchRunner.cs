namespace ModelDsl.Runtime.Sweeps;

/// <summary>Runs every point of the grid; the best is the lowest loss that did not diverge.</summary>
public static class GridSearchRunner
{
    public static SearchOutcome Run(IReadOnlyList<int> gridSizes, DivergenceRule divergence, Func<GridPoint, double> objective)
    {
        ArgumentNullException.ThrowIfNull(objective);
        return RunInRounds(gridSizes, divergence, points => points.Select(objective).ToList());
    }

    /// <summary>The same search with the whole grid asked of the objective as one round (parallel on a cluster).</summary>
    public static SearchOutcome RunInRounds(IReadOnlyList<int> gridSizes, DivergenceRule divergence,
        Func<IReadOnlyList<GridPoint>, IReadOnlyList<double>> evaluateRound)
    {
        ArgumentNullException.ThrowIfNull(evaluateRound);
        var points = GridPoint.All(gridSizes).ToList();
        IReadOnlyList<double> losses = points.Count == 0 ? [] : evaluateRound(points);
        if (losses.Count != points.Count)
            throw new InvalidOperationException($"the objective returned {losses.Count} losses for a round of {points.Count} points");
        var evaluations = points.Select((point, i) => new PointEvaluation(point, losses[i], divergence.IsDiverged(losses[i]))).ToList();
        var best = evaluations.Where(e => !e.Diverged).MinBy(e => e.Loss);
        return best is null
            ? new SearchOutcome(evaluations, null, double.NaN, [])
            : new SearchOutcome(evaluations, best.Point, best.Loss, [best.Point]);
    }
}
