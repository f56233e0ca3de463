namespace ModelDsl.Runtime.Runs;

/// <summary>
/// One row of the run store. Key identifies the exact experiment (a hash of its spec JSON), so the
/// same configuration is never trained twice and a changed one never reuses an old result.
/// Point holds the grid indices; Values the axis label and value at each index.
/// </summary>
public sealed record RunStoreEntry(
    string Key,
    string SweepId,
    string Arm,
    double? Ratio,
    IReadOnlyList<int> Point,
    IReadOnlyList<(string Label, double Value)> Values,
    RunStoreStatus Status,
    double? ValidationLoss,
    double? TrainLoss,
    long? Steps,
    double? WallSeconds,
    string RunDirectory,
    string? Error,
    DateTime UpdatedUtc)
{
    /// <summary>"lr=0.001, weightDecay=0.1".</summary>
    public string DescribeValues() => RunStore.DescribeValues(Values);
}
