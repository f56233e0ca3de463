using ModelDsl.Runtime.Sweeps;

namespace ModelDsl.Runtime.Tests.Sweeps;

public class CoordinateDescentTests
{
    private static readonly DivergenceRule Rule = new(6.0);

    /// <summary>Records the order of calls and fails on a repeated point (each run is expensive).</summary>
    private sealed class CountingObjective(Func<GridPoint, double> f)
    {
        public List<GridPoint> Calls { get; } = [];
        public double Invoke(GridPoint p)
        {
            Assert.DoesNotContain(p, Calls);
            Calls.Add(p);
            return f(p);
        }
    }

    [Fact]
    public void One_axis_walks_to_the_optimum_and_stops_after_its_last_neighbour()
    {
        // loss = |i - 3| + 1 on a grid of 5: from 0 it must run 0, 1, 2, 3 and finally 4 (the only
        // neighbour of the optimum not yet run), then stop.
        var objective = new CountingObjective(p => Math.Abs(p[0] - 3) + 1.0);
        var outcome = CoordinateDescent.Run([5], new GridPoint(0), 3e-3, Rule, objective.Invoke);
        Assert.Equal(new GridPoint(3), outcome.Best);
        Assert.Equal(1.0, outcome.BestLoss);
        Assert.Equal([0, 1, 2, 3, 4], objective.Calls.Select(p => p[0]));
        Assert.Equal([0, 1, 2, 3], outcome.Path.Select(p => p[0]));
    }

    [Fact]
    public void Two_axes_find_the_known_optimum_and_every_neighbour_of_it_has_run()
    {
        // A non-separable bowl with its minimum at (4, 1) on a 7 x 5 grid; start in a corner.
        double Loss(GridPoint p) => 2 + 0.1 * Math.Pow(p[0] - 4, 2) + 0.2 * Math.Pow(p[1] - 1, 2) + 0.05 * (p[0] - 4) * (p[1] - 1);
        var sizes = new[] { 7, 5 };
        var objective = new CountingObjective(Loss);
        var outcome = CoordinateDescent.Run(sizes, new GridPoint(0, 4), 3e-3, Rule, objective.Invoke);

        Assert.Equal(new GridPoint(4, 1), outcome.Best);
        var best = outcome.Best!;
        Assert.All(best.Neighbours(sizes), n => Assert.Contains(n, objective.Calls));
        // Stopped by the rule: the last run is a neighbour of the best (or the best itself), so no
        // run was spent after every neighbour of the best was known.
        var last = objective.Calls[^1];
        Assert.True(last == best || best.Neighbours(sizes).Contains(last), $"last run {last} is not next to the best {best}");
        // Far fewer runs than the full grid of 35.
        Assert.True(objective.Calls.Count < 20, $"{objective.Calls.Count} runs");
        // Every move strictly improved by at least the threshold.
        var pathLosses = outcome.Path.Select(Loss).ToList();
        Assert.All(pathLosses.Zip(pathLosses.Skip(1)), pair => Assert.True(pair.Second <= pair.First - 3e-3));
    }

    [Fact]
    public void An_improvement_below_the_tie_threshold_does_not_move()
    {
        // Index 1 is better than the start by 0.002 < 0.003: a tie, so the search stays at 0.
        var losses = new[] { 3.000, 2.998, 2.5 };
        var outcome = CoordinateDescent.Run([3], new GridPoint(0), 3e-3, Rule, p => losses[p[0]]);
        Assert.Equal(new GridPoint(0), outcome.Best);
        Assert.Equal(2, outcome.Evaluations.Count);

        // With no threshold the same improvement moves, and the search then finds 2.5.
        var strict = CoordinateDescent.Run([3], new GridPoint(0), 0.0, Rule, p => losses[p[0]]);
        Assert.Equal(new GridPoint(2), strict.Best);
    }

    [Fact]
    public void Diverged_points_are_never_chosen()
    {
        // Index 2 is NaN and index 3 sits exactly at the threshold: both diverged. The walk from 0
        // stops at index 1, next to the diverged NaN, instead of stepping onto it.
        var losses = new[] { 4.0, 3.5, double.NaN, 6.0, -1.0 };
        var rule = new DivergenceRule(6.0);
        var outcome = CoordinateDescent.Run([5], new GridPoint(0), 3e-3, rule, p => losses[p[0]]);
        Assert.Equal(new GridPoint(1), outcome.Best);
        Assert.True(outcome.Evaluations.Single(e => e.Point == new GridPoint(2)).Diverged);

        // A diverged start moves to any valid neighbour.
        var fromDiverged = CoordinateDescent.Run([5], new GridPoint(2), 3e-3, rule, p => losses[p[0]]);
        Assert.Equal(new GridPoint(1), fromDiverged.Best);
        Assert.Equal(3.5, fromDiverged.BestLoss);
    }

    [Fact]
    public void Everything_diverging_gives_no_best()
    {
        var outcome = CoordinateDescent.Run([3], new GridPoint(1), 3e-3, Rule, _ => double.PositiveInfinity);
        Assert.Null(outcome.Best);
        Assert.Equal(3, outcome.Evaluations.Count);
    }

    [Fact]
    public void Grid_search_runs_every_point_and_picks_the_lowest_valid_loss()
    {
        var calls = new List<GridPoint>();
        var outcome = GridSearchRunner.Run([2, 3], Rule, p =>
        {
            calls.Add(p);
            return p == new GridPoint(0, 0) ? double.NaN : 5 - p[0] - 0.1 * p[1];
        });
        Assert.Equal(6, calls.Distinct().Count());
        Assert.Equal(new GridPoint(1, 2), outcome.Best);
        Assert.Equal(3.8, outcome.BestLoss, 12);
    }

    [Fact]
    public void A_start_outside_the_grid_is_rejected()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => CoordinateDescent.Run([3, 2], new GridPoint(1, 2), 3e-3, Rule, _ => 1.0));
        Assert.Contains("axis 1", e.Message);
    }
}
