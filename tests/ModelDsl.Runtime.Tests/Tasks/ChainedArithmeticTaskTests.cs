using ModelDsl.Core.Tasks;
using ModelDsl.Runtime.Tasks;
using static ModelDsl.Runtime.Tests.Tasks.TaskTestSupport;
using TaskFactory = ModelDsl.Runtime.Tasks.TaskFactory;

namespace ModelDsl.Runtime.Tests.Tasks;

public class ChainedArithmeticTaskTests
{
    [Fact]
    public void GeneratorsAreDeterministicPerSeed() =>
        AssertDeterministic(seed => TaskFactory.Create(new ChainedArithmetic { Modulus = 7, Steps = 5 }, seed));

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void VerifierAcceptsExactlyTheModularSum(bool cot)
    {
        var spec = new ChainedArithmetic { Modulus = 5, Steps = 3, ChainOfThought = cot };
        var task = (ChainedArithmeticTask)TaskFactory.Create(spec, 2);
        foreach (var problem in task.EvalProblems(6))
        {
            Assert.Equal(spec.Separator, problem.Prompt[^1]);
            var operands = problem.Prompt[..^1];
            long[] steps = [operands[0] % 5, (operands[0] + operands[1]) % 5, (operands[0] + operands[1] + operands[2]) % 5];
            Assert.Equal(steps, task.ReferenceSolution(problem));
            Assert.Equal(steps[^1], task.FinalAnswer(problem));
            AssertVerifierExact(task, problem, steps[^1], cot ? steps : [steps[^1]], spec.AnswerLength - 1);
        }
    }

    [Fact]
    public void LossCountsTheAnswerTokensOnly()
    {
        var task = TaskFactory.Create(new ChainedArithmetic { Modulus = 10, Steps = 4 }, 2);
        using var batch = task.TrainBatch(0, 0, 4);
        Assert.All(MaskRows(batch.LossMask), row => Assert.Equal(new float[] { 0, 0, 0, 0, 1, 1, 1, 1 }, row));
        Assert.All(Rows(batch.Inputs), row => Assert.Equal(10, row[4]));
    }
}
