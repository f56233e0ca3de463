using ModelDsl.Core;
using ModelDsl.Core.Tasks;
using ModelDsl.Runtime.Eval;
using ModelDsl.Runtime.Tasks;
using static TorchSharp.torch;
using TaskFactory = ModelDsl.Runtime.Tasks.TaskFactory;

namespace ModelDsl.Runtime.Tests.Eval;

public class EvaluatorAccuracyTests
{
    /// <summary>Stands in for greedy generation: appends a completion chosen from the prompt.</summary>
    private static Func<Tensor, int, Tensor> Answering(ITask task, IReadOnlyList<Problem> problems, Func<Problem, long[]> completion) =>
        (prompts, newTokens) =>
        {
            var rows = Enumerable.Range(0, (int)prompts.shape[0]).Select(r =>
            {
                var prompt = prompts[r].data<long>().ToArray();
                var problem = problems.First(p => p.Prompt.SequenceEqual(prompt));
                var answer = completion(problem);
                Assert.Equal(task.CompletionLengthOf(problem), newTokens);
                return prompt.Concat(answer).ToArray();
            }).ToArray();
            return tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, rows[0].Length], ScalarType.Int64);
        };

    [Fact]
    public void FinalAnswerAndFullChainOfThoughtAreCountedSeparately()
    {
        var task = TaskFactory.Create(new ChainedArithmetic { Modulus = 5, Steps = 3 }, 1);
        var problems = task.EvalProblems(12);
        using var model = nn.Linear(1, 1);
        // A wrong first step but the right final sum when the first operand is even; otherwise all correct.
        bool Corrupted(Problem p) => p.Prompt[0] % 2 == 0;
        var result = Evaluator.Accuracies(model, task, 12, 5, CPU, Answering(task, problems, p =>
        {
            var answer = (long[])p.ReferenceCompletion.Clone();
            if (Corrupted(p)) answer[0] = (answer[0] + 1) % 5;
            return answer;
        }))!;
        var corrupted = problems.Count(Corrupted);
        Assert.InRange(corrupted, 1, 11);
        Assert.Equal(1.0, result.Answer);
        Assert.Equal(1.0 - corrupted / 12.0, result.FullCompletion, 12);
    }

    [Fact]
    public void MixturesGenerateEachDomainsOwnCompletionLength()
    {
        var mixture = new TaskMixture
        {
            Components = new ValueList<MixtureComponent>([
                new MixtureComponent { Domain = "parity", Task = new SparseParity { Bits = 6, Secret = 2 } },
                new MixtureComponent { Domain = "flip-flop", Task = new FlipFlop { Pairs = 4 } },
            ]),
        };
        var task = TaskFactory.Create(mixture, 1);
        var problems = task.EvalProblems(20);
        using var model = nn.Linear(1, 1);
        var result = Evaluator.Accuracies(model, task, 20, 8, CPU, Answering(task, problems, p => p.ReferenceCompletion))!;
        Assert.Equal(1.0, result.Answer);
        Assert.Equal(1.0, result.FullCompletion);
    }
}
