namespace ModelDsl.Runtime.Training;

/// <summary>Why a run ended as diverged: the step that was refused (1-based, not applied) and what was wrong.</summary>
public sealed record DivergenceReport(long Step, string Problem)
{
    public string Message => $"training diverged at step {Step}: {Problem}; the update was not applied";
}
