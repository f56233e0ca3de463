using ModelDsl.Core;
using ModelDsl.Core.Tasks;
using ModelDsl.Runtime.Tasks;
using static ModelDsl.Runtime.Tests.Tasks.TaskTestSupport;
using TaskFactory = ModelDsl.Runtime.Tasks.TaskFactory;

namespace ModelDsl.Runtime.Tests.Tasks;

public class TaskMixtureTaskTests
{
    private static readonly TaskMixture Spec = new()
    {
        Components = new ValueList<MixtureComponent>([
            new MixtureComponent { Domain = "parity", Task = new SparseParity { Bits = 6, Secret = 2 }, Weight = 3 },
            new MixtureComponent { Domain = "sums", Task = new ChainedArithmetic { Modulus = 7, Steps = 5 }, Weight = 1 },
        ]),
    };

    [Fact]
    public void GeneratorsAreDeterministicPerSeed() => AssertDeterministic(seed => TaskFactory.Create(Spec, seed));

    [Fact]
    public void RowsFollowTheirDomainAndPaddingIsOutsideTheLoss()
    {
        var task = (TaskMixtureTask)TaskFactory.Create(Spec, 4);
        Assert.Equal(8, task.VocabularySize);
        Assert.Equal(10, task.SequenceLength); // sums: 5 operands + 5 running sums
        using var batch = task.TrainBatch(0, 0, 400);
        var domains = batch.Domains!.data<long>().ToArray();
        var share = domains.Count(d => d == 0) / 400.0;
        Assert.InRange(share, 0.65, 0.85); // weight 3 of 4
        var inputs = Rows(batch.Inputs);
        var masks = MaskRows(batch.LossMask);
        for (var b = 0; b < 400; b++)
        {
            if (domains[b] == 0)
            {
                // Parity(6, 2) with CoT: 8 inputs, '=' at 6, two answer targets at positions 6 and 7, then padding.
                Assert.Equal(SparseParity.Separator, inputs[b][6]);
                Assert.Equal(new float[] { 0, 0, 0, 0, 0, 0, 1, 1, 0, 0 }, masks[b]);
                Assert.Equal(new long[] { 0, 0 }, inputs[b][8..]);
            }
            else
            {
                Assert.Equal(7, inputs[b][5]);
                Assert.Equal(new float[] { 0, 0, 0, 0, 0, 1, 1, 1, 1, 1 }, masks[b]);
            }
        }
        foreach (var problem in task.EvalProblems(30))
        {
            var domain = task.DomainOf(problem);
            Assert.Equal(domain == 0 ? 2 : 5, task.CompletionLengthOf(problem));
            Assert.True(task.Verify(problem, problem.ReferenceCompletion));
            Assert.True(task.VerifyFullCompletion(problem, problem.ReferenceCompletion));
            // A wrong final answer (parity bits flip; sums are mod 7) fails both checks; a wrong first
            // (chain-of-thought or running-sum) token with the right final answer fails only the full check.
            long Other(long token) => domain == 0 ? 1 - token : (token + 1) % 7;
            var wrongAnswer = (long[])problem.ReferenceCompletion.Clone();
            wrongAnswer[^1] = Other(wrongAnswer[^1]);
            Assert.False(task.Verify(problem, wrongAnswer), $"domain {domain}: a wrong final answer is rejected");
            Assert.False(task.VerifyFullCompletion(problem, wrongAnswer));
            var wrongStep = (long[])problem.ReferenceCompletion.Clone();
            wrongStep[0] = Other(wrongStep[0]);
            Assert.True(task.Verify(problem, wrongStep), $"domain {domain}: only the final answer is graded");
            Assert.False(task.VerifyFullCompletion(problem, wrongStep), $"domain {domain}: the full check sees the wrong step");
            Assert.False(task.Verify(problem, problem.ReferenceCompletion[..^1]), $"domain {domain}: a truncated completion is rejected");
        }
    }

    [Fact]
    public void PerMicroBatchGroupingGivesEachTrainingMicroBatchOneDomainInProportionToTheWeights()
    {
        var task = (TaskMixtureTask)TaskFactory.Create(Spec with { Grouping = MixtureGrouping.PerMicroBatch }, 4);
        var firstDomains = new List<long>();
        for (var step = 0; step < 100; step++)
            for (var micro = 0; micro < 4; micro++)
            {
                using var batch = task.TrainBatch(step, micro, 6);
                var domains = batch.Domains!.data<long>().ToArray();
                Assert.All(domains, d => Assert.Equal(domains[0], d));
                firstDomains.Add(domains[0]);
            }
        Assert.InRange(firstDomains.Count(d => d == 0) / 400.0, 0.65, 0.85); // weight 3 of 4
        using var validation = task.ValidationBatch(0, 200);
        Assert.Equal(2, validation.Domains!.data<long>().ToArray().Distinct().Count()); // validation still mixes
    }

    [Fact]
    public void ValidationNamesTheOffendingComponent()
    {
        var bad = Spec with
        {
            Components = new ValueList<MixtureComponent>([
                Spec.Components[0],
                new MixtureComponent { Domain = "parity", Task = new FlipFlop { Pairs = 1 }, Weight = -1 },
            ]),
        };
        var errors = new ModelDsl.Core.Validation.Validator();
        bad.Validate(errors, "task");
        var paths = errors.Errors.Select(e => e.Path).ToList();
        Assert.Contains("task.components[1].domain", paths);
        Assert.Contains("task.components[1].weight", paths);
        Assert.Contains("task.components[1].task.pairs", paths);
    }
}
