namespace ModelDsl.Runtime.Sweeps;

/// <summary>How far one axis was widened, and why it stopped.</summary>
/// <param name="Below">Values added below the first grid value.</param>
/// <param name="Above">Values added above the last grid value.</param>
/// <param name="CapReached">The best still sits at an edge that has used every allowed extension.</param>
/// <param name="Blocked">The best sits at an edge whose next value is not allowed (e.g. an invalid experiment), or null.</param>
public sealed record AxisWidening(int Below, int Above, bool CapReached, string? Blocked)
{
    public bool Widened => Below + Above > 0;
}

/// <summary>
/// A search with edge widening: the outcome is over the final (widened) grid, whose points index
/// <see cref="Grid"/>; Axes says per axis what was added and whether the cap stopped it.
/// </summary>
public sealed record WideningOutcome(SearchOutcome Outcome, IReadOnlyList<IReadOnlyList<double>> Grid, IReadOnlyList<AxisWidening> Axes);

/// <summary>
/// Coordinate descent that widens its grid at the edges ("Fantastic Pretraining Optimizers",
/// arXiv 2509.02046, §3, tunes until the optimum is bracketed): after a descent ends, every axis of
/// three or more values whose best value is the first or last of its grid gains the next value beyond
/// that edge (geometric by the ratio of the two edge values when they are non-zero and of one sign,
/// else arithmetic by their difference), and the descent continues from the best point. It stops when
/// no best value is at an edge, or each such edge has used maxExtensions extensions (reported as
/// CapReached) or cannot be extended (Blocked). The objective is asked once per configuration.
/// With maxExtensions = 0 it is exactly <see cref="CoordinateDescent.RunInRounds"/>.
/// </summary>
public static class EdgeWidening
{
    /// <summary>The value one step beyond the first (above = false) or last (above = true) grid value.</summary>
    public static double Beyond(IReadOnlyList<double> values, bool above)
    {
        if (values.Count < 2) throw new ArgumentException("an axis needs two values to have a step", nameof(values));
        var (edge, inner) = above ? (values[^1], values[^2]) : (values[0], values[1]);
        return edge != 0 && inner != 0 && Math.Sign(edge) == Math.Sign(inner)
            ? edge * (edge / inner)
            : edge + (edge - inner);
    }

    /// <param name="grid">Each axis's values, in order.</param>
    /// <param name="allowed">Whether an axis may take a new value; null when it may, else why not.</param>
    /// <param name="evaluateRound">Losses of a round of points of the grid as it stands (the grid is passed with them).</param>
    public static WideningOutcome Run(IReadOnlyList<IReadOnlyList<double>> grid, GridPoint start, double tieThreshold, DivergenceRule divergence,
        int maxExtensions, Func<int, double, string?> allowed,
        Func<IReadOnlyList<IReadOnlyList<double>>, IReadOnlyList<GridPoint>, IReadOnlyList<double>> evaluateRound)
    {
        ArgumentNullException.ThrowIfNull(evaluateRound);
        ArgumentNullException.ThrowIfNull(allowed);
        if (maxExtensions < 0) throw new ArgumentOutOfRangeException(nameof(maxExtensions), "the extension cap must be zero or positive");
        var axes = grid.Select(values => values.ToList()).ToList();
        var below = new int[axes.Count];
        var above = new int[axes.Count];
        // Results by configuration (the values, not the indices, which shift when an axis grows below).
        var known = new Dictionary<string, double>();
        var order = new List<(double[] Values, double Loss)>();
        var pathValues = new List<double[]>();
        double[] ValuesAt(GridPoint p) => axes.Select((values, axis) => values[p[axis]]).ToArray();
        static string Key(double[] values) => string.Join(",", values.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)));

        var current = start;
        SearchOutcome outcome;
        var blocked = new string?[axes.Count];
        while (true)
        {
            var snapshot = axes.Select(values => (IReadOnlyList<double>)values.ToArray()).ToList();
            outcome = CoordinateDescent.RunInRounds(axes.Select(values => values.Count).ToList(), current, tieThreshold, divergence, points =>
            {
                var fresh = points.Where(p => !known.ContainsKey(Key(ValuesAt(p)))).ToList();
                if (fresh.Count > 0)
                {
                    var losses = evaluateRound(snapshot, fresh);
                    if (losses.Count != fresh.Count)
                        throw new InvalidOperationException($"the objective returned {losses.Count} losses for a round of {fresh.Count} points");
                    for (var i = 0; i < fresh.Count; i++)
                    {
                        known[Key(ValuesAt(fresh[i]))] = losses[i];
                        order.Add((ValuesAt(fresh[i]), losses[i]));
                    }
                }
                return points.Select(p => known[Key(ValuesAt(p))]).ToList();
            });
            foreach (var p in outcome.Path)
                if (pathValues.Count == 0 || Key(pathValues[^1]) != Key(ValuesAt(p))) pathValues.Add(ValuesAt(p));
            if (outcome.Best is not { } best) break;

            var next = best.Indices.ToArray();
            var grew = false;
            for (var axis = 0; axis < axes.Count; axis++)
            {
                blocked[axis] = null;
                var values = axes[axis];
                if (values.Count < 3) continue;
                var atLow = best[axis] == 0;
                var atHigh = best[axis] == values.Count - 1;
                if (!atLow && !atHigh) continue;
                if ((atLow ? below[axis] : above[axis]) >= maxExtensions) continue;
                var value = Beyond(values, above: atHigh);
                if (!double.IsFinite(value) || values.Contains(value))
                {
                    blocked[axis] = $"the next value {value} is not a new finite number";
                    continue;
                }
                if (allowed(axis, value) is { } why)
                {
                    blocked[axis] = why;
                    continue;
                }
                if (atHigh)
                {
                    values.Add(value);
                    above[axis]++;
                }
                else
                {
                    values.Insert(0, value);
                    below[axis]++;
                    next[axis]++;
                }
                grew = true;
            }
            if (!grew) break;
            current = new GridPoint(next);
        }

        // Re-index everything on the final grid (every value ever run is still in it).
        GridPoint IndexOf(double[] values) => new(values.Select((v, axis) => axes[axis].IndexOf(v)).ToArray());
        var evaluations = order.Select(e => new PointEvaluation(IndexOf(e.Values), e.Loss, divergence.IsDiverged(e.Loss))).ToList();
        var path = pathValues.Select(IndexOf).ToList();
        var finalBest = outcome.Best is null ? null : IndexOf(pathValues[^1]);
        var final = new SearchOutcome(evaluations, finalBest, outcome.BestLoss, finalBest is null ? [] : path);
        var report = axes.Select((values, axis) =>
        {
            var edgeLow = finalBest is not null && values.Count >= 3 && finalBest[axis] == 0;
            var edgeHigh = finalBest is not null && values.Count >= 3 && finalBest[axis] == values.Count - 1;
            var capped = (edgeLow && below[axis] >= maxExtensions) || (edgeHigh && above[axis] >= maxExtensions);
            return new AxisWidening(below[axis], above[axis], maxExtensions > 0 && capped && blocked[axis] is null, blocked[axis]);
        }).ToList();
        return new WideningOutcome(final, axes.Select(values => (IReadOnlyList<double>)values).ToList(), report);
    }
}
