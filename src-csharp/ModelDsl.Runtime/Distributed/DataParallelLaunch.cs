namespace ModelDsl.Runtime.Distributed;

/// <summary>
/// Whether this process is one replica of a data-parallel job. Open MPI's mpirun sets
/// OMPI_COMM_WORLD_SIZE (and _RANK) in every process it starts; a job of more than one process
/// trains data-parallel without further flags. <see cref="Require"/> (the CLI's --data-parallel)
/// makes a missing MPI environment an error instead of a silent single-process run.
/// </summary>
public static class DataParallelLaunch
{
    public const string SizeVariable = "OMPI_COMM_WORLD_SIZE";
    public const string RankVariable = "OMPI_COMM_WORLD_RANK";
    private static volatile bool required;

    /// <summary>The process count mpirun announced, or null outside mpirun.</summary>
    public static int? AnnouncedSize => int.TryParse(Environment.GetEnvironmentVariable(SizeVariable), out var size) ? size : null;

    /// <summary>This process's rank as announced by mpirun (0 outside it); known before MPI starts.</summary>
    public static int AnnouncedRank => int.TryParse(Environment.GetEnvironmentVariable(RankVariable), out var rank) ? rank : 0;

    /// <summary>Data parallelism was asked for explicitly: training fails unless started by mpirun.</summary>
    public static void Require() => required = true;

    /// <summary>The collective the trainer uses when its options name none.</summary>
    public static ICollective Current()
    {
        var size = AnnouncedSize;
        if (size is null)
        {
            if (required)
                throw new InvalidOperationException(
                    $"--data-parallel: this process was not started by Open MPI's mpirun ({SizeVariable} is not set); " +
                    "start it as: mpirun -np R ./modeldsl run EXPERIMENT (as root add --allow-run-as-root)");
            return SingleProcessCollective.Instance;
        }
        return size > 1 || required ? MpiCollective.World : SingleProcessCollective.Instance;
    }
}
