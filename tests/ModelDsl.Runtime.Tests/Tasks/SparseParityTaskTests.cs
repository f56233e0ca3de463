using ModelDsl.Core;
using ModelDsl.Core.Tasks;
using ModelDsl.Runtime.Tasks;
using TaskFactory = ModelDsl.Runtime.Tasks.TaskFactory;

namespace ModelDsl.Runtime.Tests.Tasks;

public class SparseParityTaskTests
{
    private static long[,] Values(TorchSharp.torch.Tensor t)
    {
        var flat = t.to_type(TorchSharp.torch.ScalarType.Int64).data<long>().ToArray();
        var (rows, cols) = ((int)t.shape[0], (int)t.shape[1]);
        var result = new long[rows, cols];
        for (var i = 0; i < rows; i++) for (var j = 0; j < cols; j++) result[i, j] = flat[i * cols + j];
        return result;
    }

    [Fact]
    public void SameSeedGivesSameBatchesAndOtherCoordinatesDiffer()
    {
        var spec = new SparseParity { Bits = 12, Secret = 3 };
        var a = (SparseParityTask)TaskFactory.Create(spec, seed: 7);
        var b = (SparseParityTask)TaskFactory.Create(spec, seed: 7);
        var c = (SparseParityTask)TaskFactory.Create(spec, seed: 8);
        using var a1 = a.TrainBatch(3, 1, 16);
        using var b1 = b.TrainBatch(3, 1, 16);
        using var a2 = a.TrainBatch(3, 0, 16);
        using var c1 = c.TrainBatch(3, 1, 16);
        Assert.Equal(Values(a1.Inputs), Values(b1.Inputs));
        Assert.NotEqual(Values(a1.Inputs), Values(a2.Inputs));
        Assert.NotEqual(Values(a1.Inputs), Values(c1.Inputs));
        Assert.Equal(a.SecretIndices, c.SecretIndices); // the secret depends on TaskSeed only
        using var v1 = a.ValidationBatch(0, 8);
        using var v2 = b.ValidationBatch(0, 8);
        Assert.Equal(Values(v1.Inputs), Values(v2.Inputs));
        Assert.Equal(a.EvalProblems(5).Select(p => p.Prompt), b.EvalProblems(5).Select(p => p.Prompt));
    }

    [Fact]
    public void SecretComesFromTaskSeedOrExplicitIndices()
    {
        var drawn = new SparseParityTask(new SparseParity { Bits = 20, Secret = 4, TaskSeed = 3 }, 0);
        Assert.Equal(4, drawn.SecretIndices.Distinct().Count());
        Assert.True(drawn.SecretIndices.Zip(drawn.SecretIndices.Skip(1)).All(p => p.First < p.Second));
        var other = new SparseParityTask(new SparseParity { Bits = 20, Secret = 4, TaskSeed = 4 }, 0);
        Assert.NotEqual(drawn.SecretIndices, other.SecretIndices);
        var given = new SparseParityTask(new SparseParity { Bits = 10, Secret = 2, SecretIndices = ValueList.Of(1, 7) }, 0);
        Assert.Equal([1, 7], given.SecretIndices);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void LabelsAreRunningXorsOfSecretBitsAndMaskCoversOnlyAnswers(bool chainOfThought)
    {
        const int n = 10;
        var task = new SparseParityTask(new SparseParity { Bits = n, Secret = 3, ChainOfThought = chainOfThought, SecretIndices = ValueList.Of(0, 4, 9) }, 1);
        using var batch = task.TrainBatch(0, 0, 64);
        var inputs = Values(batch.Inputs);
        var targets = Values(batch.Targets);
        var mask = batch.LossMask.data<float>().ToArray();
        var answerLength = chainOfThought ? 3 : 1;
        Assert.Equal(n + answerLength, task.SequenceLength);
        for (var b = 0; b < 64; b++)
        {
            // Rebuild the whole example from inputs plus the last target, then check it independently.
            var full = Enumerable.Range(0, task.SequenceLength).Select(t => inputs[b, t]).Append(targets[b, task.SequenceLength - 1]).ToArray();
            for (var t = 0; t < task.SequenceLength; t++) Assert.Equal(full[t + 1], targets[b, t]);
            Assert.All(full[..n], bit => Assert.True(bit is SparseParity.Zero or SparseParity.One));
            Assert.Equal(SparseParity.Separator, full[n]);
            var x1 = full[0]; var x2 = x1 ^ full[4]; var x3 = x2 ^ full[9];
            long[] expected = chainOfThought ? [x1, x2, x3] : [x3];
            Assert.Equal(expected, full[(n + 1)..]);
            for (var t = 0; t < task.SequenceLength; t++)
                Assert.Equal(t >= n ? 1f : 0f, mask[b * task.SequenceLength + t]);
        }
    }

    [Fact]
    public void VerifierAcceptsExactlyCorrectFinalAnswers()
    {
        var random = new Random(5);
        for (var trial = 0; trial < 200; trial++)
        {
            var n = random.Next(3, 24);
            var k = random.Next(1, Math.Min(n, 6) + 1);
            var cot = random.Next(2) == 0;
            var task = new SparseParityTask(new SparseParity { Bits = n, Secret = k, ChainOfThought = cot, TaskSeed = trial }, trial);
            foreach (var problem in task.EvalProblems(4))
            {
                Assert.Equal(n + 1, problem.Prompt.Length);
                Assert.Equal(SparseParity.Separator, problem.Prompt[^1]);
                var parity = task.SecretIndices.Aggregate(0L, (acc, i) => acc ^ problem.Prompt[i]);
                Assert.Equal(parity, problem.ReferenceCompletion[^1]);
                var answer = problem.ReferenceCompletion.ToArray();
                Assert.True(task.Verify(problem, answer));
                Assert.True(task.VerifyChainOfThought(problem, answer));
                var flipped = answer.ToArray(); flipped[^1] ^= 1;
                Assert.False(task.Verify(problem, flipped));
                Assert.False(task.VerifyChainOfThought(problem, flipped));
                var separator = answer.ToArray(); separator[^1] = SparseParity.Separator;
                Assert.False(task.Verify(problem, separator));
                Assert.False(task.Verify(problem, answer[..^1]));
                if (cot && k > 1)
                {
                    var wrongThought = answer.ToArray(); wrongThought[0] ^= 1;
                    Assert.True(task.Verify(problem, wrongThought));
                    Assert.False(task.VerifyChainOfThought(problem, wrongThought));
                }
            }
        }
    }

    [Fact]
    public void FixedTrainingSetIsReusedAndHeldOutDataAvoidsIt()
    {
        var task = new SparseParityTask(new SparseParity { Bits = 8, Secret = 2, TrainingExamples = 20 }, 3);
        var seen = new HashSet<string>();
        for (var step = 0; step < 30; step++)
        {
            using var batch = task.TrainBatch(step, 0, 16);
            var inputs = Values(batch.Inputs);
            for (var b = 0; b < 16; b++) seen.Add(string.Concat(Enumerable.Range(0, 8).Select(t => inputs[b, t])));
        }
        Assert.Equal(20, seen.Count); // 480 draws from 20 distinct examples cover all of them
        using var validation = task.ValidationBatch(0, 64);
        var held = Values(validation.Inputs);
        for (var b = 0; b < 64; b++) Assert.DoesNotContain(string.Concat(Enumerable.Range(0, 8).Select(t => held[b, t])), seen);
        foreach (var p in task.EvalProblems(64)) Assert.DoesNotContain(string.Concat(p.Prompt[..8]), seen);
    }

    [Fact]
    public void TrainingSetLargerThanHalfTheInputsIsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => new SparseParityTask(new SparseParity { Bits = 4, Secret = 2, TrainingExamples = 9 }, 0));
        Assert.Contains("trainingExamples", e.Message);
    }
}
