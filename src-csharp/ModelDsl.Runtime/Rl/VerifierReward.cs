using ModelDsl.Core.Rl;
using ModelDsl.Runtime.Tasks;

namespace ModelDsl.Runtime.Rl;

/// <summary>
/// The verifiable reward of a task (PAPERS.md §2: 0/1 correctness, scaled): <see cref="ITask.Verify"/>
/// judges the final answer. Well formed means: with a stop token, it was emitted right after exactly the
/// task's answer length (<see cref="ITask.CompletionLengthOf"/>); without one, the answer has at least
/// that length. With <see cref="RewardSpec.RequireFormat"/> a badly formed completion earns nothing.
/// Works for every task with a verifier; tested on chained arithmetic, sparse parity with chain of thought
/// (only the final label is checked) and S_n composition.
/// </summary>
public sealed class VerifierReward(ITask task, RewardSpec spec, long? stopToken) : IRewardFunction
{
    public CompletionScore Score(Problem problem, ReadOnlySpan<long> answer, bool stopped)
    {
        var correct = task.Verify(problem, answer);
        var expectedLength = task.CompletionLengthOf(problem);
        var wellFormed = stopToken is null ? answer.Length >= expectedLength : stopped && answer.Length == expectedLength;
        var earns = correct && (wellFormed || !spec.RequireFormat);
        return new CompletionScore(correct, wellFormed, earns ? spec.Scale : 0);
    }
}
