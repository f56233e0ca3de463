namespace ModelDsl.Runtime.Sweeps;

/// <summary>
/// Coordinate descent over a grid ("Fantastic Pretraining Optimizers", arXiv 2509.02046, §3):
/// stand on a point, run each of its one-axis neighbours not yet run, move to the neighbour with the
/// lowest loss if it beats the current point by at least the tie threshold, and stop when no
/// neighbour does, which is exactly when every neighbour of the best point has been run.
/// Pure: the objective is the only effect, and it is called at most once per point.
/// </summary>
public static class CoordinateDescent
{
    public static SearchOutcome Run(IReadOnlyList<int> gridSizes, GridPoint start, double tieThreshold, DivergenceRule divergence,
        Func<GridPoint, double> objective)
    {
        ArgumentNullException.ThrowIfNull(objective);
        return RunInRounds(gridSizes, start, tieThreshold, divergence, points => points.Select(objective).ToList());
    }

    /// <summary>
    /// The same search with the objective asked a round at a time: the start point, then the
    /// not-yet-run neighbours of each point the search stands on, so that a round's runs can train
    /// in parallel. The decisions and the order of the evaluations are those of <see cref="Run"/>.
    /// </summary>
    public static SearchOutcome RunInRounds(IReadOnlyList<int> gridSizes, GridPoint start, double tieThreshold, DivergenceRule divergence,
        Func<IReadOnlyList<GridPoint>, IReadOnlyList<double>> evaluateRound)
    {
        ArgumentNullException.ThrowIfNull(evaluateRound);
        if (start.Dimensions != gridSizes.Count)
            throw new ArgumentException($"start {start} has {start.Dimensions} indices for {gridSizes.Count} axes", nameof(start));
        for (var axis = 0; axis < gridSizes.Count; axis++)
            if (start[axis] < 0 || start[axis] >= gridSizes[axis])
                throw new ArgumentOutOfRangeException(nameof(start), $"start {start}: index {start[axis]} is outside axis {axis}'s grid of {gridSizes[axis]}");
        if (!(tieThreshold >= 0)) throw new ArgumentOutOfRangeException(nameof(tieThreshold), "the tie threshold must be zero or positive");

        var evaluations = new List<PointEvaluation>();
        var known = new Dictionary<GridPoint, PointEvaluation>();
        List<PointEvaluation> Evaluate(IReadOnlyList<GridPoint> points)
        {
            var fresh = points.Where(p => !known.ContainsKey(p)).Distinct().ToList();
            if (fresh.Count > 0)
            {
                var losses = evaluateRound(fresh);
                if (losses.Count != fresh.Count)
                    throw new InvalidOperationException($"the objective returned {losses.Count} losses for a round of {fresh.Count} points");
                for (var i = 0; i < fresh.Count; i++)
                {
                    var result = new PointEvaluation(fresh[i], losses[i], divergence.IsDiverged(losses[i]));
                    known[fresh[i]] = result;
                    evaluations.Add(result);
                }
            }
            return points.Select(p => known[p]).ToList();
        }
        // Diverged points rank below every finite loss and never become the current point by merit.
        static double Rank(PointEvaluation e) => e.Diverged ? double.PositiveInfinity : e.Loss;

        var current = Evaluate([start])[0];
        var path = new List<GridPoint> { start };
        while (true)
        {
            var neighbours = Evaluate(current.Point.Neighbours(gridSizes).ToList());
            // Ties (improvements below the threshold) keep the current point; among real
            // improvements the lowest loss wins, the earliest neighbour on equal losses.
            var candidates = neighbours.Where(n => !n.Diverged &&
                (current.Diverged || Rank(n) <= Rank(current) - tieThreshold) && Rank(n) < Rank(current)).ToList();
            if (candidates.Count == 0) break;
            current = candidates.MinBy(Rank)!;
            path.Add(current.Point);
        }
        return current.Diverged
            ? new SearchOutcome(evaluations, null, double.NaN, path)
            : new SearchOutcome(evaluations, current.Point, current.Loss, path);
    }
}
