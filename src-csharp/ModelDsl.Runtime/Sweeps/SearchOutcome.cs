namespace ModelDsl.Runtime.Sweeps;

/// <summary>One run of the objective: its loss, and whether the divergence rule rejected it.</summary>
public sealed record PointEvaluation(GridPoint Point, double Loss, bool Diverged);

/// <summary>
/// What a search ran, in order, and where it ended. Best is null when every point diverged.
/// Path lists the points the search stood on (coordinate descent's moves; for a grid, the best only).
/// </summary>
public sealed record SearchOutcome(IReadOnlyList<PointEvaluation> Evaluations, GridPoint? Best, double BestLoss, IReadOnlyList<GridPoint> Path);

/// <summary>The divergence rule: a loss that is not finite or is at least the threshold (the
/// paper uses loss >= 6; a run that produced NaN never counts as a result).</summary>
public sealed record DivergenceRule(double Threshold)
{
    public bool IsDiverged(double loss) => !double.IsFinite(loss) || loss >= Threshold;
}
