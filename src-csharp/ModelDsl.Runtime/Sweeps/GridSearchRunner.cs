namespace ModelDsl.Runtime.Sweeps;

/// <summary>Runs every point of the grid; the best is the lowest loss that did not diverge.</summary>
public static class GridSearchRunner
{
    public static SearchOutcome Run(IReadOnlyList<int> gridSizes, DivergenceRule divergence, Func<GridPoint, double> objective)
    {
        var evaluations = GridPoint.All(gridSizes)
            .Select(point => { var loss = objective(point); return new PointEvaluation(point, loss, divergence.IsDiverged(loss)); })
            .ToList();
        var best = evaluations.Where(e => !e.Diverged).MinBy(e => e.Loss);
        return best is null
            ? new SearchOutcome(evaluations, null, double.NaN, [])
            : new SearchOutcome(evaluations, best.Point, best.Loss, [best.Point]);
    }
}
