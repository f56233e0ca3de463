using ModelDsl.Core.Sweeps;
using ModelDsl.Runtime.Runs;

namespace ModelDsl.Runtime.Sweeps;

/// <summary>What a backend needs of the sweep it trains for.</summary>
public sealed record SweepContext(SweepSpec Spec, SweepDirectory Directory, RunStore Store, DivergenceRule Divergence, SweepOptions Options);

/// <summary>
/// Where a sweep's runs train. The search decides which points a round needs (a grid: all of them;
/// coordinate descent: the start, then each unvisited neighbourhood); the backend trains them and
/// records each outcome in the run store. The search never knows which backend ran its points.
/// </summary>
public interface ISweepBackend
{
    /// <summary>Trains every point of one round (none is finished or diverged in the store yet) and
    /// returns their store entries in the same order, each Finished, Diverged or Failed.</summary>
    IReadOnlyList<RunStoreEntry> RunRound(SweepContext context, IReadOnlyList<SweepPoint> points);
}
