using ModelDsl.Runtime.Tasks;

namespace ModelDsl.Runtime.Eval;

/// <summary>
/// The final answer of a completion, the thing majority voting counts. Per task: chained arithmetic,
/// sparse parity and parity in context answer with their last answer token (the chain of thought
/// before it is not part of the answer); flip-flop and permutation composition with their first
/// token; a mixture asks the problem's component; any other task's answer is the whole completion.
/// For every task listed, two completions with the same final answer get the same verdict from
/// <see cref="ITask.Verify"/>. A completion too short to hold the answer has the empty answer.
/// </summary>
public static class FinalAnswers
{
    public static string Of(ITask task, Problem problem, ReadOnlySpan<long> completion) => task switch
    {
        TaskMixtureTask mixture => Of(mixture.Components[mixture.DomainOf(problem)], problem, completion),
        ChainedArithmeticTask or SparseParityTask or ParityInContextTask => TokenAt(completion, task.CompletionLengthOf(problem) - 1),
        FlipFlopTask or PermutationCompositionTask => TokenAt(completion, 0),
        _ => string.Join(" ", completion.ToArray()),
    };

    private static string TokenAt(ReadOnlySpan<long> completion, int index) =>
        index >= 0 && index < completion.Length ? completion[index].ToString(System.Globalization.CultureInfo.InvariantCulture) : "";
}
