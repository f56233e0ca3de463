using ModelDsl.Core.Tasks;
using ModelDsl.Runtime.Variants;

namespace ModelDsl.Runtime.Tasks;

/// <summary>Turns a task spec into its data generator or loader: the class registered for the
/// spec's kind with <see cref="ImplementsAttribute"/>, constructed from (spec, seed).</summary>
public static class TaskFactory
{
    /// <param name="seed">The run's seed; every batch and problem is a pure function of it and its coordinates.</param>
    public static ITask Create(TaskSpec spec, int seed)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return Implementations.Build<ITask>(spec, "task", seed);
    }
}
