using ModelDsl.Runtime.Tasks;

namespace ModelDsl.Runtime.Rl;

/// <summary>
/// Training problems cut from a task's training batches (<see cref="ITask.TrainBatch"/> at step, micro
/// index = round), so RL draws from the training distribution and never from the evaluation problems.
/// Chained arithmetic and sparse parity (next-token tasks whose loss counts exactly the answer) split
/// each sequence where the loss starts: the prompt is every token up to the first counted target's
/// input ('=' included), the reference the counted targets, as in their evaluation problems. S_n
/// composition (a tagging task) gives the permutations as the prompt and the final state as the
/// reference, as its evaluation problems do. Other tasks (flip-flop, parity in context, mixtures, text)
/// count the loss elsewhere than on one final answer and are refused.
/// </summary>
public sealed class TaskProblemSource(ITask task) : IProblemSource
{
    public IReadOnlyList<Problem> TrainingProblems(long step, int round, int count)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "must be at least 1");
        if (task is not (ChainedArithmeticTask or SparseParityTask or PermutationCompositionTask))
            throw new NotSupportedException(
                $"{task.GetType().Name}: RL training problems are cut from chained-arithmetic, sparse-parity and S_n-composition batches only; pass an IProblemSource for other tasks");
        using var batch = task.TrainBatch(step, round, count);
        var inputs = batch.Inputs.data<long>().ToArray();
        var targets = batch.Targets.data<long>().ToArray();
        var mask = batch.LossMask.to(TorchSharp.torch.ScalarType.Float32).data<float>().ToArray();
        var length = (int)batch.Inputs.shape[1];
        var problems = new Problem[count];
        for (var b = 0; b < count; b++)
        {
            var row = inputs.AsSpan(b * length, length);
            var rowTargets = targets.AsSpan(b * length, length);
            if (task is PermutationCompositionTask)
            {
                problems[b] = new Problem(row.ToArray(), [rowTargets[^1]]);
                continue;
            }
            var first = Array.FindIndex(mask, b * length, length, m => m > 0) - b * length;
            if (first < 0) throw new InvalidOperationException($"{task.GetType().Name}: training sequence {b} has no counted token");
            long[] sequence = [.. row, rowTargets[^1]];
            // Target t is sequence[t + 1]; the reference ends with the last counted target (padding follows it).
            var last = Array.FindLastIndex(mask, b * length + length - 1, length, m => m > 0) - b * length;
            problems[b] = new Problem(sequence[..(first + 1)], sequence[(first + 1)..(last + 2)]);
        }
        return problems;
    }
}
