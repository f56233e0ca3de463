using ModelDsl.Core.Tasks;
using ModelDsl.Runtime.Tasks;
using static ModelDsl.Runtime.Tests.Tasks.TaskTestSupport;
using TaskFactory = ModelDsl.Runtime.Tasks.TaskFactory;

namespace ModelDsl.Runtime.Tests.Tasks;

public class StateTrackingTaskTests
{
    [Fact]
    public void GeneratorsAreDeterministicPerSeed()
    {
        AssertDeterministic(seed => TaskFactory.Create(new PermutationComposition { Elements = 5, Length = 6, EvalLength = 9 }, seed));
        AssertDeterministic(seed => TaskFactory.Create(new FlipFlop { Pairs = 8, EvalPairs = 12 }, seed));
    }

    [Fact]
    public void PermutationTokensEnumerateTheGroupAndStatesComposeInOrder()
    {
        var task = (PermutationCompositionTask)TaskFactory.Create(new PermutationComposition { Elements = 4, Length = 5, EvalLength = 11 }, 3);
        Assert.Equal(24, task.VocabularySize);
        var all = Enumerable.Range(0, 24).Select(t => string.Join("", task.Permutation(t))).ToList();
        Assert.Equal(24, all.Distinct().Count());
        Assert.Equal(all.OrderBy(s => s, StringComparer.Ordinal), all); // lexicographic ranks
        Assert.Equal("0123", all[task.Identity]);

        using var batch = task.TrainBatch(0, 0, 8);
        var inputs = Rows(batch.Inputs);
        var targets = Rows(batch.Targets);
        Assert.All(MaskRows(batch.LossMask).SelectMany(r => r), m => Assert.Equal(1f, m));
        for (var b = 0; b < inputs.Length; b++)
        {
            // Independent reference: act on the arrangement 0..n-1 step by step, state = g_t o state.
            int[] state = [0, 1, 2, 3];
            for (var t = 0; t < inputs[b].Length; t++)
            {
                var g = task.Permutation((int)inputs[b][t]);
                state = state.Select(x => g[x]).ToArray();
                Assert.Equal(string.Join("", state), all[(int)targets[b][t]]);
            }
        }
    }

    [Fact]
    public void PermutationVerifierAcceptsExactlyTheFinalStateAtTheEvalLength()
    {
        var task = (PermutationCompositionTask)TaskFactory.Create(new PermutationComposition { Elements = 5, Length = 4, EvalLength = 10 }, 3);
        using var validation = task.ValidationBatch(0, 2);
        Assert.Equal(10, validation.Inputs.shape[1]);
        foreach (var problem in task.EvalProblems(5))
        {
            Assert.Equal(10, problem.Prompt.Length);
            int[] state = [0, 1, 2, 3, 4];
            foreach (var token in problem.Prompt)
            {
                var g = task.Permutation((int)token);
                state = state.Select(x => g[x]).ToArray();
            }
            var expected = Enumerable.Range(0, 120).Single(t => task.Permutation(t).SequenceEqual(state));
            AssertVerifierExact(task, problem, expected, [expected], 0);
        }
    }

    /// <summary>Independent reading of a flip-flop string: the bit of the last write before position end.</summary>
    private static long LastWrite(long[] sequence, int end)
    {
        for (var i = end - 2; i >= 0; i -= 2)
            if (sequence[i] == FlipFlop.Write) return sequence[i + 1];
        throw new InvalidOperationException("no write");
    }

    [Fact]
    public void FlipFlopReadsReturnTheLastWriteAndOnlyThoseBitsCount()
    {
        var task = (FlipFlopTask)TaskFactory.Create(new FlipFlop { Pairs = 20, EvalPairs = 40, IgnoreProbability = 0.5 }, 5);
        using var batch = task.TrainBatch(1, 0, 16);
        var inputs = Rows(batch.Inputs);
        var targets = Rows(batch.Targets);
        var masks = MaskRows(batch.LossMask);
        var reads = 0;
        for (var b = 0; b < inputs.Length; b++)
        {
            long[] sequence = [.. inputs[b], targets[b][^1]];
            Assert.Equal(FlipFlop.Write, sequence[0]);
            Assert.Equal(FlipFlop.Read, sequence[^2]);
            for (var p = 0; p < 20; p++)
            {
                Assert.Contains(sequence[2 * p], new long[] { FlipFlop.Write, FlipFlop.Read, FlipFlop.Ignore });
                Assert.Contains(sequence[2 * p + 1], new long[] { 0, 1 });
                if (sequence[2 * p] == FlipFlop.Read) { Assert.Equal(LastWrite(sequence, 2 * p), sequence[2 * p + 1]); reads++; }
            }
            for (var t = 0; t < masks[b].Length; t++)
                Assert.Equal(t % 2 == 0 && sequence[t] == FlipFlop.Read ? 1f : 0f, masks[b][t]);
        }
        Assert.True(reads > 16, "reads other than the last one occur");
        foreach (var problem in task.EvalProblems(8))
        {
            Assert.Equal(79, problem.Prompt.Length);
            Assert.Equal(FlipFlop.Read, problem.Prompt[^1]);
            var expected = LastWrite([.. problem.Prompt, 0], 78);
            AssertVerifierExact(task, problem, expected, [expected], 0);
        }
    }
}
