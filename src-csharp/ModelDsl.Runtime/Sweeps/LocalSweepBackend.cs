using ModelDsl.Runtime.Runs;

namespace ModelDsl.Runtime.Sweeps;

/// <summary>Trains a round's points in this process, one after another (the default backend).</summary>
public sealed class LocalSweepBackend : ISweepBackend
{
    public static LocalSweepBackend Instance { get; } = new();

    public IReadOnlyList<RunStoreEntry> RunRound(SweepContext context, IReadOnlyList<SweepPoint> points) =>
        points.Select(point => SweepPointTrainer.Train(point, context.Store, context.Divergence, context.Options)).ToList();
}
