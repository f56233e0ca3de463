using ModelDsl.Core.Rl;
using ModelDsl.Core.Tasks;
using ModelDsl.Runtime.Rl;
using ModelDsl.Runtime.Tasks;

namespace ModelDsl.Runtime.Tests.Rl;

public class VerifierRewardTests
{
    [Fact]
    public void ChainedArithmeticProblemsComeFromTrainingDataAndAreVerified()
    {
        var task = new ChainedArithmeticTask(new ChainedArithmetic { Modulus = 7, Steps = 4 }, seed: 3);
        var problems = new TaskProblemSource(task).TrainingProblems(step: 2, round: 1, count: 6);
        Assert.Equal(6, problems.Count);
        foreach (var problem in problems)
        {
            // Prompt: four operands then '='; reference: the running sums, computed here independently.
            Assert.Equal(5, problem.Prompt.Length);
            Assert.Equal(7, problem.Prompt[^1]);
            long sum = 0;
            var sums = problem.Prompt[..4].Select(a => sum = (sum + a) % 7).ToArray();
            Assert.Equal(sums, problem.ReferenceCompletion);
        }
        Assert.Equal(problems.Select(p => p.Prompt), new TaskProblemSource(task).TrainingProblems(2, 1, 6).Select(p => p.Prompt));
        Assert.NotEqual(problems.Select(p => p.Prompt), new TaskProblemSource(task).TrainingProblems(2, 2, 6).Select(p => p.Prompt));

        var reward = new VerifierReward(task, new RewardSpec { Scale = 5 }, stopToken: null);
        var reference = problems[0].ReferenceCompletion;
        Assert.Equal(new CompletionScore(true, true, 5), reward.Score(problems[0], reference, stopped: false));
        // Only the final answer counts; a wrong intermediate sum is still correct.
        long[] wrongStep = [.. reference];
        wrongStep[0] = (wrongStep[0] + 1) % 7;
        Assert.True(reward.Score(problems[0], wrongStep, false).Correct);
        long[] wrongFinal = [.. reference];
        wrongFinal[^1] = (wrongFinal[^1] + 1) % 7;
        Assert.Equal(new CompletionScore(false, true, 0), reward.Score(problems[0], wrongFinal, false));
        Assert.Equal(new CompletionScore(false, false, 0), reward.Score(problems[0], reference[..3], false));
    }

    [Fact]
    public void TheFormatCheckNeedsTheStopTokenRightAfterTheAnswer()
    {
        var task = new ChainedArithmeticTask(new ChainedArithmetic { Modulus = 7, Steps = 3 }, seed: 1);
        var problem = new TaskProblemSource(task).TrainingProblems(0, 0, 1)[0];
        var strict = new VerifierReward(task, new RewardSpec { RequireFormat = true }, stopToken: 7);
        var lenient = new VerifierReward(task, new RewardSpec(), stopToken: 7);
        var answer = problem.ReferenceCompletion;
        Assert.Equal(new CompletionScore(true, true, 1), strict.Score(problem, answer, stopped: true));
        Assert.Equal(new CompletionScore(true, false, 0), strict.Score(problem, answer, stopped: false));
        Assert.Equal(new CompletionScore(true, false, 1), lenient.Score(problem, answer, stopped: false));
        Assert.Equal(new CompletionScore(true, false, 0), strict.Score(problem, [.. answer, 0], stopped: true));
    }

    [Fact]
    public void SparseParityWithChainOfThoughtChecksTheFinalLabel()
    {
        var task = new SparseParityTask(new SparseParity { Bits = 8, Secret = 3, ChainOfThought = true }, seed: 2);
        var problems = new TaskProblemSource(task).TrainingProblems(0, 0, 5);
        foreach (var problem in problems)
        {
            Assert.Equal(9, problem.Prompt.Length);
            Assert.Equal(SparseParity.Separator, problem.Prompt[^1]);
            var bits = problem.Prompt[..8].Select(b => (byte)b).ToArray();
            Assert.Equal(task.Answer(bits), problem.ReferenceCompletion);
            var reward = new VerifierReward(task, new RewardSpec(), null);
            Assert.True(reward.Score(problem, problem.ReferenceCompletion, false).Correct);
            long[] flipped = [.. problem.ReferenceCompletion];
            flipped[^1] = 1 - flipped[^1];
            Assert.False(reward.Score(problem, flipped, false).Correct);
        }
    }

    [Fact]
    public void PermutationCompositionProblemsAskForTheFinalState()
    {
        var task = new PermutationCompositionTask(new PermutationComposition { Elements = 3, Length = 5 }, seed: 4);
        var problems = new TaskProblemSource(task).TrainingProblems(1, 0, 4);
        var reward = new VerifierReward(task, new RewardSpec(), null);
        foreach (var problem in problems)
        {
            Assert.Equal(5, problem.Prompt.Length);
            // The state after composing every permutation, computed here from the permutation tables.
            var state = Enumerable.Range(0, 3).ToArray();
            foreach (var token in problem.Prompt) state = PermutationCompositionTask.Compose(task.Permutation((int)token), state);
            Assert.Equal(state, task.Permutation((int)problem.ReferenceCompletion[0]).ToArray());
            Assert.True(reward.Score(problem, problem.ReferenceCompletion, false).Correct);
            Assert.False(reward.Score(problem, [(problem.ReferenceCompletion[0] + 1) % 6], false).Correct);
        }
    }

    [Fact]
    public void TasksWithoutASingleFinalAnswerAreRefused()
    {
        var task = new FlipFlopTask(new FlipFlop(), seed: 1);
        Assert.Contains("IProblemSource", Assert.Throws<NotSupportedException>(() => new TaskProblemSource(task).TrainingProblems(0, 0, 2)).Message);
    }
}
