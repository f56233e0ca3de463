using ModelDsl.Core.Tasks;

namespace ModelDsl.Runtime.Tasks;

/// <summary>Turns a task spec into its data generator or loader.</summary>
public static class TaskFactory
{
    /// <param name="seed">The run's seed; every batch and problem is a pure function of it and its coordinates.</param>
    public static ITask Create(TaskSpec spec, int seed) => spec switch
    {
        SparseParity parity => new SparseParityTask(parity, seed),
        TextCorpus corpus => new TextCorpusTask(corpus, seed),
        ParityInContext inContext => new ParityInContextTask(inContext, seed),
        PermutationComposition permutations => new PermutationCompositionTask(permutations, seed),
        FlipFlop flipFlop => new FlipFlopTask(flipFlop, seed),
        ChainedArithmetic arithmetic => new ChainedArithmeticTask(arithmetic, seed),
        TaskMixture mixture => new TaskMixtureTask(mixture, seed),
        null => throw new ArgumentNullException(nameof(spec)),
        _ => throw new NotSupportedException($"task kind {spec.GetType().Name} has no runtime implementation"),
    };
}
