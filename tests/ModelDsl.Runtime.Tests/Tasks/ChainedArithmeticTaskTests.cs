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

    [Fact]
    public void AFixedTrainingSetIsDistinctAndHeldOutProblemsLieOutsideIt()
    {
        var spec = new ChainedArithmetic { Modulus = 5, Steps = 3, TrainingExamples = 20 };
        var task = (ChainedArithmeticTask)TaskFactory.Create(spec, 3);
        var training = task.TrainingSet!.Select(o => string.Join(",", o)).ToHashSet();
        Assert.Equal(20, training.Count);
        for (var step = 0; step < 5; step++)
        {
            using var batch = task.TrainBatch(step, 0, 16);
            Assert.All(Rows(batch.Inputs), row => Assert.Contains(string.Join(",", row[..3]), training));
        }
        Assert.All(task.EvalProblems(50), p => Assert.DoesNotContain(string.Join(",", p.Prompt[..3]), training));
        using var validation = task.ValidationBatch(0, 32);
        Assert.All(Rows(validation.Inputs), row => Assert.DoesNotContain(string.Join(",", row[..3]), training));
        // Without a training set the draws are unchanged: the same seed gives the same problems as before.
        Assert.Null(((ChainedArithmeticTask)TaskFactory.Create(spec with { TrainingExamples = null }, 3)).TrainingSet);
    }

    [Fact]
    public void ATrainingSetLargerThanHalfOfAllProblemsIsRejected()
    {
        var error = Assert.Throws<ModelDsl.Core.Validation.SpecValidationException>(() =>
            new ChainedArithmetic { Modulus = 5, Steps = 2, TrainingExamples = 13 }.EnsureValid());
        Assert.Contains("task.trainingExamples", error.Message);
        new ChainedArithmetic { Modulus = 5, Steps = 2, TrainingExamples = 12 }.EnsureValid();
    }

    [Fact]
    public void TheTrainingSetSizeRoundTripsThroughJsonAndIsLeftOutWhenNull()
    {
        var withSet = new ChainedArithmetic { Modulus = 17, Steps = 3, TrainingExamples = 500 };
        var json = ModelDsl.Core.Json.SpecJson.Serialize<TaskSpec>(withSet);
        Assert.Contains("\"trainingExamples\": 500", json);
        Assert.Equal(withSet, ModelDsl.Core.Json.SpecJson.Deserialize<TaskSpec>(json));
        // Specs written before the field existed serialise exactly as before.
        Assert.DoesNotContain("trainingExamples", ModelDsl.Core.Json.SpecJson.Serialize<TaskSpec>(withSet with { TrainingExamples = null }));
    }
}
