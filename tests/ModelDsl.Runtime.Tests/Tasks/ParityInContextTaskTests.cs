using ModelDsl.Core.Tasks;
using ModelDsl.Runtime.Tasks;
using static ModelDsl.Runtime.Tests.Tasks.TaskTestSupport;
using TaskFactory = ModelDsl.Runtime.Tasks.TaskFactory;

namespace ModelDsl.Runtime.Tests.Tasks;

public class ParityInContextTaskTests
{
    private static ParityInContextTask Create(ParityInContext spec, int seed = 1) => (ParityInContextTask)TaskFactory.Create(spec, seed);

    [Fact]
    public void GeneratorsAreDeterministicPerSeed() =>
        AssertDeterministic(seed => Create(new ParityInContext { Bits = 6, Secret = 2, Demonstrations = 3, TrainingTasks = 5 }, seed));

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void TrainingAndHeldOutTasksPartitionAllIndexSets(int splitSeed)
    {
        var task = Create(new ParityInContext { Bits = 7, Secret = 3, TrainingTasks = 12, SplitSeed = splitSeed });
        var train = task.TrainingTaskSets.Select(s => string.Join(",", s)).ToList();
        var heldOut = task.HeldOutTaskSets.Select(s => string.Join(",", s)).ToList();
        Assert.Equal(12, train.Count);
        Assert.Equal(35 - 12, heldOut.Count); // C(7, 3) = 35
        Assert.Empty(train.Intersect(heldOut));
        Assert.Equal(35, train.Concat(heldOut).Distinct().Count());
        Assert.All(task.TrainingTaskSets.Concat(task.HeldOutTaskSets), s =>
        {
            Assert.Equal(3, s.Length);
            Assert.True(s.Zip(s.Skip(1)).All(p => p.First < p.Second) && s[0] >= 0 && s[^1] < 7);
        });
        // Another split seed gives another split, the same seed the same one.
        var same = Create(new ParityInContext { Bits = 7, Secret = 3, TrainingTasks = 12, SplitSeed = splitSeed });
        var other = Create(new ParityInContext { Bits = 7, Secret = 3, TrainingTasks = 12, SplitSeed = splitSeed + 10 });
        Assert.Equal(train, same.TrainingTaskSets.Select(s => string.Join(",", s)));
        Assert.NotEqual(train, other.TrainingTaskSets.Select(s => string.Join(",", s)));
    }

    /// <summary>Decodes a sequence into its examples and checks each answer against the parity under the secret.</summary>
    private static void AssertConsistent(long[] sequence, int[] secret, ParityInContext spec)
    {
        var period = spec.ExampleLength + 1;
        for (var e = 0; e <= spec.Demonstrations; e++)
        {
            var start = e * period;
            var bits = sequence[start..(start + spec.Bits)];
            Assert.Equal(ParityInContext.Separator, sequence[start + spec.Bits]);
            var running = 0L;
            var expected = secret.Select(i => running ^= bits[i]).ToArray();
            var answer = sequence[(start + spec.Bits + 1)..(start + spec.ExampleLength)];
            Assert.Equal(spec.ChainOfThought ? expected : [expected[^1]], answer);
            if (e < spec.Demonstrations) Assert.Equal(ParityInContext.ExampleSeparator, sequence[start + spec.ExampleLength]);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void BatchesComeFromTrainingTasksAndProblemsFromHeldOutTasks(bool cot)
    {
        var spec = new ParityInContext { Bits = 6, Secret = 2, Demonstrations = 5, ChainOfThought = cot, TrainingTasks = 3 };
        var task = Create(spec);
        var heldOut = task.HeldOutTaskSets.Select(s => string.Join(",", s)).ToHashSet();
        foreach (var (problem, secret) in task.ProblemsWithSecrets(40, heldOut: true))
        {
            Assert.Contains(string.Join(",", secret), heldOut);
            AssertConsistent([.. problem.Prompt, .. problem.ReferenceCompletion], secret, spec);
        }
        Assert.All(task.ProblemsWithSecrets(20, heldOut: false), p => Assert.DoesNotContain(string.Join(",", p.Secret), heldOut));

        // Every training sequence is consistent with some training task (and, with 5 demonstrations,
        // almost never with a held-out one); the mask selects exactly the answer tokens.
        using var batch = task.TrainBatch(0, 0, 32);
        var inputs = Rows(batch.Inputs);
        var targets = Rows(batch.Targets);
        var masks = MaskRows(batch.LossMask);
        for (var b = 0; b < inputs.Length; b++)
        {
            long[] sequence = [.. inputs[b], targets[b][^1]];
            Assert.Equal(inputs[b][1..], targets[b][..^1]);
            Assert.Contains(task.TrainingTaskSets, s => Consistent(sequence, s, spec));
            var period = spec.ExampleLength + 1;
            for (var t = 0; t < masks[b].Length; t++)
            {
                var offset = (t + 1) % period;
                var isAnswer = offset >= spec.Bits + 1 && offset < spec.ExampleLength;
                Assert.Equal(isAnswer ? 1f : 0f, masks[b][t]);
            }
        }
    }

    private static bool Consistent(long[] sequence, int[] secret, ParityInContext spec)
    {
        try { AssertConsistent(sequence, secret, spec); return true; }
        catch (Xunit.Sdk.XunitException) { return false; }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void VerifierAcceptsExactlyTheCorrectAnswer(bool cot)
    {
        var spec = new ParityInContext { Bits = 5, Secret = 2, Demonstrations = 2, ChainOfThought = cot, TrainingTasks = 4 };
        var task = Create(spec);
        foreach (var (problem, secret) in task.ProblemsWithSecrets(10, heldOut: true))
        {
            var query = problem.Prompt[^(spec.Bits + 1)..^1];
            var first = query[secret[0]];
            var label = first ^ query[secret[1]];
            AssertVerifierExact(task, problem, label, cot ? [first, label] : [label], spec.AnswerLength - 1);
        }
    }

    [Fact]
    public void ValidationRejectsSplitsWithoutHeldOutTasks()
    {
        var errors = new ModelDsl.Core.Validation.Validator();
        new ParityInContext { Bits = 5, Secret = 2, TrainingTasks = 10 }.Validate(errors, "task");
        Assert.Contains(errors.Errors, e => e.Path == "task.trainingTasks" && e.Message.Contains("C(5, 2) = 10"));
        Assert.Equal(4 * (5 + 1 + 2 + 1) + 5 + 2, new ParityInContext { Bits = 5, Secret = 2, Demonstrations = 4 }.SequenceLength());
    }
}
