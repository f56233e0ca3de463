using ModelDsl.Runtime.Tasks;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tests.Tasks;

internal static class TaskTestSupport
{
    public static long[][] Rows(Tensor t)
    {
        var flat = t.to_type(ScalarType.Int64).data<long>().ToArray();
        var (rows, cols) = ((int)t.shape[0], (int)t.shape[1]);
        return Enumerable.Range(0, rows).Select(r => flat[(r * cols)..((r + 1) * cols)]).ToArray();
    }

    public static float[][] MaskRows(Tensor t)
    {
        var flat = t.data<float>().ToArray();
        var (rows, cols) = ((int)t.shape[0], (int)t.shape[1]);
        return Enumerable.Range(0, rows).Select(r => flat[(r * cols)..((r + 1) * cols)]).ToArray();
    }

    /// <summary>Every sequence of the given length over tokens 0 .. vocabulary-1.</summary>
    public static IEnumerable<long[]> AllCompletions(int vocabulary, int length)
    {
        var total = (long)Math.Pow(vocabulary, length);
        for (long code = 0; code < total; code++)
        {
            var completion = new long[length];
            var rest = code;
            for (var i = 0; i < length; i++) { completion[i] = rest % vocabulary; rest /= vocabulary; }
            yield return completion;
        }
    }

    /// <summary>Same seed: same batches and problems; another seed or coordinate: different ones.</summary>
    public static void AssertDeterministic(Func<int, ITask> create)
    {
        ITask a = create(7), b = create(7), c = create(8);
        using var a1 = a.TrainBatch(3, 1, 16);
        using var b1 = b.TrainBatch(3, 1, 16);
        using var a2 = a.TrainBatch(3, 0, 16);
        using var a3 = a.TrainBatch(4, 1, 16);
        using var c1 = c.TrainBatch(3, 1, 16);
        Assert.Equal(Rows(a1.Inputs), Rows(b1.Inputs));
        Assert.Equal(Rows(a1.Targets), Rows(b1.Targets));
        Assert.Equal(MaskRows(a1.LossMask), MaskRows(b1.LossMask));
        Assert.NotEqual(Rows(a1.Inputs), Rows(a2.Inputs));
        Assert.NotEqual(Rows(a1.Inputs), Rows(a3.Inputs));
        Assert.NotEqual(Rows(a1.Inputs), Rows(c1.Inputs));
        using var v1 = a.ValidationBatch(2, 8);
        using var v2 = b.ValidationBatch(2, 8);
        Assert.Equal(Rows(v1.Inputs), Rows(v2.Inputs));
        Assert.Equal(a.EvalProblems(6).Select(p => p.Prompt.Concat(p.ReferenceCompletion)),
            b.EvalProblems(6).Select(p => p.Prompt.Concat(p.ReferenceCompletion)));
        Assert.Equal(a1.Inputs.shape, new long[] { 16, a.SequenceLength });
        Assert.Equal(v1.Inputs.shape, new long[] { 8, a.EvalSequenceLength });
        Assert.True(Rows(a1.Inputs).SelectMany(r => r).All(t => t >= 0 && t < a.VocabularySize));
        Assert.True(Rows(a1.Targets).SelectMany(r => r).All(t => t >= 0 && t < a.VocabularySize));
    }

    /// <summary>
    /// Verify accepts exactly the completions whose final answer equals the independently computed
    /// one, and VerifyFullCompletion exactly the one equal to the expected full completion; every
    /// possible completion is tried.
    /// </summary>
    public static void AssertVerifierExact(ITask task, Problem problem, long expectedAnswer, long[] expectedFull, int answerIndex)
    {
        Assert.Equal(expectedFull, problem.ReferenceCompletion);
        var length = task.CompletionLengthOf(problem);
        foreach (var completion in AllCompletions(task.VocabularySize, length))
        {
            Assert.Equal(completion[answerIndex] == expectedAnswer, task.Verify(problem, completion));
            Assert.Equal(completion.SequenceEqual(expectedFull), task.VerifyFullCompletion(problem, completion));
        }
        Assert.False(task.Verify(problem, expectedFull[..answerIndex]));
    }
}
