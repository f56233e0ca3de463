using ModelDsl.Core;
using ModelDsl.Core.Rl;
using ModelDsl.Core.Tasks;
using ModelDsl.Runtime.Rl;
using ModelDsl.Runtime.Tasks;

namespace ModelDsl.Runtime.Tests.Rl;

public class HintTransformTests
{
    private static readonly ChainedArithmeticTask Task = new(new ChainedArithmetic { Modulus = 9, Steps = 6 }, seed: 5);

    [Fact]
    public void HintsAreExactPrefixesOfTheReferenceSolutionFollowingTheCurriculum()
    {
        var spec = new HintSpec { Curriculum = ValueList.Of(new HintStage(0.5, 2), new HintStage(0.25, 2)) };
        var hints = new HintTransform(spec, HintTransform.MarkerFor(Task));
        Assert.Equal(10, hints.MarkerToken); // modulus 9: values 0..8, '=' is 9, the marker 10
        foreach (var problem in new TaskProblemSource(Task).TrainingProblems(0, 0, 8))
        {
            foreach (var (step, expected) in new[] { (0L, 3), (1L, 3), (2L, 1), (9L, 1) }) // floor(0.5 * 6), floor(0.25 * 6)
            {
                var prompt = hints.TrainingPrompt(problem, step);
                Assert.Equal(expected, prompt.HintTokens);
                var hint = HintTransform.HintOf(prompt);
                Assert.Equal(problem.ReferenceCompletion.Take(expected), hint);
                // problem, marker, prefix, then the prompt's last token ('=') again.
                Assert.Equal(problem.Prompt, prompt.Tokens[..problem.Prompt.Length]);
                Assert.Equal(10, prompt.Tokens[problem.Prompt.Length]);
                Assert.Equal(problem.Prompt.Length + expected + 2, prompt.Tokens.Length);
                Assert.Equal(9, prompt.Tokens[^1]);
                Assert.Same(problem, prompt.Problem);
            }
        }
    }

    [Fact]
    public void PrefixesBelowTheMinimumGiveNoHint()
    {
        var hints = new HintTransform(new HintSpec { Fraction = 0.25, MinPrefixTokens = 2 }, 10);
        var problem = new TaskProblemSource(Task).TrainingProblems(0, 0, 1)[0];
        var prompt = hints.TrainingPrompt(problem, 0); // floor(1.5) = 1 < 2
        Assert.Equal(0, prompt.HintTokens);
        Assert.Equal(problem.Prompt, prompt.Tokens);
    }

    [Fact]
    public void EvaluationPromptsNeverCarryAHint()
    {
        var hints = new HintTransform(new HintSpec { Fraction = 1.0 }, HintTransform.MarkerFor(Task));
        foreach (var problem in Task.EvalProblems(32))
        {
            Assert.True(hints.TrainingPrompt(problem, 0).HintTokens > 0);
            var prompt = HintTransform.EvaluationPrompt(problem);
            Assert.Equal(0, prompt.HintTokens);
            Assert.Equal(problem.Prompt, prompt.Tokens);
            Assert.DoesNotContain(hints.MarkerToken, prompt.Tokens);
            Assert.Empty(HintTransform.HintOf(prompt));
        }
    }
}
