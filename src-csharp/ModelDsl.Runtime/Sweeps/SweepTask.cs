using ModelDsl.Runtime.Runs;

namespace ModelDsl.Runtime.Sweeps;

/// <summary>
/// What one array task of a cluster backend runs: the sweep point written under the sweep folder,
/// trained and recorded in the sweep's run store (which several tasks write at once).
/// </summary>
public static class SweepTask
{
    public static RunStoreEntry Run(string sweepDirectory, string key, SweepOptions options)
    {
        var directory = new SweepDirectory(sweepDirectory);
        var spec = directory.LoadSpec();
        var point = SweepPointFiles.Read(directory, key);
        // A spec without a thread count would let libtorch use every core of the node; use the
        // task's allocation instead. Threads are not part of the run key, so results are unchanged.
        if (point.Experiment.Training.Threads is null && AllocatedCpus() is { } cpus)
            point = point with { Experiment = point.Experiment with { Training = point.Experiment.Training with { Threads = cpus } } };
        using var store = RunStore.Open(directory.DatabasePath);
        return SweepPointTrainer.Train(point, store, new DivergenceRule(spec.DivergenceLoss), options);
    }

    private static int? AllocatedCpus() =>
        int.TryParse(Environment.GetEnvironmentVariable("SLURM_CPUS_PER_TASK"), out var n) && n > 0 ? n : null;
}
