using ModelDsl.Runtime.Sweeps;

namespace ModelDsl.Runtime.Tests.Sweeps;

public class EdgeWideningTests
{
    private static readonly DivergenceRule Rule = new(6.0);
    private static readonly double[] Lrs = [1e-3, 2e-3, 4e-3, 8e-3, 16e-3];

    /// <summary>Runs the widening search over the given grid with a loss of the point's values; every configuration must be asked once.</summary>
    private static (WideningOutcome Outcome, List<double[]> Calls) Search(IReadOnlyList<IReadOnlyList<double>> grid, int[] start, int cap,
        Func<double[], double> loss, Func<int, double, string?>? allowed = null)
    {
        var calls = new List<double[]>();
        var outcome = EdgeWidening.Run(grid, new GridPoint(start), 3e-3, Rule, cap, allowed ?? ((_, _) => null), (current, points) =>
            points.Select(p =>
            {
                var values = p.Indices.Select((index, axis) => current[axis][index]).ToArray();
                Assert.DoesNotContain(calls, c => c.SequenceEqual(values));
                calls.Add(values);
                return loss(values);
            }).ToList());
        return (outcome, calls);
    }

    private static double ValueAt(WideningOutcome o, int axis) => o.Grid[axis][o.Outcome.Best![axis]];

    [Fact]
    public void An_optimum_above_the_grid_is_found_by_widening_geometrically()
    {
        // Minimum at lr = 0.064, two grid steps (x2) above the last value 0.016.
        var (o, calls) = Search([Lrs], [2], cap: 3, v => 1 + 0.1 * Math.Pow(Math.Log2(v[0] / 0.064), 2));
        Assert.Equal(0.064, ValueAt(o, 0), 12);
        Assert.Equal(1.0, o.Outcome.BestLoss, 12);
        // 0.032, 0.064 and 0.128 (the neighbour that brackets it) were added, each by the ratio 2.
        Assert.Equal(new AxisWidening(0, 3, false, null), o.Axes[0]);
        Assert.Equal([1e-3, 2e-3, 4e-3, 8e-3, 16e-3, 32e-3, 64e-3, 128e-3], o.Grid[0].Select(v => Math.Round(v, 12)));
        Assert.Equal(o.Outcome.Evaluations.Count, calls.Count);
        // The best is bracketed: both its neighbours ran.
        Assert.Contains(calls, c => Math.Abs(c[0] - 0.032) < 1e-12);
        Assert.Contains(calls, c => Math.Abs(c[0] - 0.128) < 1e-12);
    }

    [Fact]
    public void An_optimum_below_the_grid_is_found_and_the_points_are_reindexed()
    {
        // Two axes: lr with its minimum at 2.5e-4 (two steps below 1e-3), and a 2-value weight decay
        // axis that is never widened (two values cannot bracket an optimum).
        var (o, calls) = Search([Lrs, [0.0, 0.1]], [2, 0], cap: 3,
            v => 2 + 0.1 * Math.Pow(Math.Log2(v[0] / 2.5e-4), 2) + (v[1] == 0.1 ? 0 : 0.05));
        Assert.Equal(2.5e-4, ValueAt(o, 0), 15);
        Assert.Equal(0.1, ValueAt(o, 1));
        Assert.Equal(new AxisWidening(3, 0, false, null), o.Axes[0]);
        Assert.Equal(new AxisWidening(0, 0, false, null), o.Axes[1]);
        Assert.Equal(1.25e-4, o.Grid[0][0], 15);
        // Every evaluation's indices point at the values it was run with, on the final grid.
        Assert.Equal(calls.Count, o.Outcome.Evaluations.Count);
        for (var i = 0; i < calls.Count; i++)
        {
            var point = o.Outcome.Evaluations[i].Point;
            Assert.Equal(calls[i], new[] { o.Grid[0][point[0]], o.Grid[1][point[1]] });
        }
        Assert.Equal(o.Outcome.Best, o.Outcome.Path[^1]);
    }

    [Fact]
    public void An_unbounded_objective_is_stopped_by_the_cap_and_reported()
    {
        // The loss keeps falling as lr grows: no grid brackets it.
        var (o, calls) = Search([Lrs], [2], cap: 3, v => 1 + 1 / (1 + 1000 * v[0]));
        Assert.Equal(new AxisWidening(0, 3, true, null), o.Axes[0]);
        Assert.Equal(16e-3 * 8, ValueAt(o, 0), 12);
        Assert.Equal(8, o.Grid[0].Count);
        Assert.Equal(o.Grid[0].Count - 1, o.Outcome.Best![0]);
        Assert.Equal(calls.Count, o.Outcome.Evaluations.Count);
    }

    [Fact]
    public void An_edge_whose_next_value_is_not_allowed_is_reported_as_blocked()
    {
        var (o, _) = Search([Lrs], [2], cap: 3, v => 1 + 1 / (1 + 1000 * v[0]),
            allowed: (_, value) => value > 0.05 ? "too large" : null);
        Assert.Equal(0.032, ValueAt(o, 0), 12);
        Assert.Equal(new AxisWidening(0, 1, false, "too large"), o.Axes[0]);
    }

    [Fact]
    public void Without_extensions_it_is_plain_coordinate_descent()
    {
        double Bowl(GridPoint p) => 2 + 0.1 * Math.Pow(p[0] - 6, 2) + 0.2 * Math.Pow(p[1] - 1, 2);
        var sizes = new[] { 5, 4 };
        var plain = CoordinateDescent.Run(sizes, new GridPoint(2, 3), 3e-3, Rule, Bowl);
        var grid = sizes.Select(n => (IReadOnlyList<double>)Enumerable.Range(0, n).Select(i => (double)i).ToArray()).ToList();
        var widened = EdgeWidening.Run(grid, new GridPoint(2, 3), 3e-3, Rule, 0, (_, _) => null,
            (_, points) => points.Select(Bowl).ToList());
        Assert.Equal(plain.Evaluations, widened.Outcome.Evaluations);
        Assert.Equal(plain.Path, widened.Outcome.Path);
        Assert.Equal(plain.Best, widened.Outcome.Best);
        // The best is on the lr edge (index 4 of 5) but no extension was allowed: not "capped" by widening.
        Assert.All(widened.Axes, a => Assert.Equal(new AxisWidening(0, 0, false, null), a));
    }

    [Theory]
    [InlineData(new[] { 1.0, 2.0, 4.0 }, true, 8.0)]
    [InlineData(new[] { 1.0, 2.0, 4.0 }, false, 0.5)]
    [InlineData(new[] { 0.0, 0.1, 0.2 }, false, -0.1)]   // a zero edge: arithmetic step
    [InlineData(new[] { -4.0, -2.0, -1.0 }, true, -0.5)]  // one sign: geometric
    [InlineData(new[] { -1.0, 1.0, 3.0 }, false, -3.0)]   // signs differ: arithmetic
    public void Beyond_steps_by_the_edge_ratio_or_difference(double[] values, bool above, double expected) =>
        Assert.Equal(expected, EdgeWidening.Beyond(values, above), 12);
}
