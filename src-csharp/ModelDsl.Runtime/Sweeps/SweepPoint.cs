using ModelDsl.Core;

namespace ModelDsl.Runtime.Sweeps;

/// <summary>
/// One configuration of a sweep, ready to train: which arm, budget and grid point it is, the
/// experiment it resolves to, its run-store key and the run directory it trains into.
/// </summary>
public sealed record SweepPoint(
    string Sweep,
    string Arm,
    double? Ratio,
    IReadOnlyList<int> Point,
    IReadOnlyList<(string Label, double Value)> Values,
    string Key,
    string RunDirectory,
    ExperimentSpec Experiment)
{
    /// <summary>"a base-budget lr=0.001": enough to find the point in a report or a log.</summary>
    public string Describe() => $"{Arm} {SweepDirectory.BudgetLabel(Ratio)} {Runs.RunStore.DescribeValues(Values)}".TrimEnd();
}
