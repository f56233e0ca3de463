using ModelDsl.Core.Tasks;
using ModelDsl.Runtime.Tasks;
using TaskFactory = ModelDsl.Runtime.Tasks.TaskFactory;

namespace ModelDsl.Runtime.Tests.Tasks;

public sealed class TextCorpusTaskTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("corpus-").FullName;
    public void Dispose() => Directory.Delete(directory, recursive: true);

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void WindowsComeFromTheRightSplitAndTargetsAreShiftedInputs()
    {
        // Bytes 0..99 train (value < 100), 100..199 validate: every window must stay in its part.
        var path = Write("a.txt", Enumerable.Range(0, 200).Select(i => (byte)i).ToArray());
        var task = (TextCorpusTask)TaskFactory.Create(new TextCorpus { Path = path, Length = 8, ValidationFraction = 0.5 }, 11);
        Assert.Equal(100, task.TrainingTokens);
        using var train = task.TrainBatch(2, 1, 32);
        var inputs = train.Inputs.data<long>().ToArray();
        var targets = train.Targets.data<long>().ToArray();
        for (var i = 0; i < inputs.Length; i++)
        {
            Assert.Equal(inputs[i] + 1, targets[i]); // consecutive bytes
            Assert.InRange(targets[i], 0, 99);
        }
        Assert.All(train.LossMask.data<float>().ToArray(), m => Assert.Equal(1f, m));
        using var again = task.TrainBatch(2, 1, 32);
        Assert.Equal(inputs, again.Inputs.data<long>().ToArray());
        using var validation = task.ValidationBatch(0, 4);
        Assert.Equal(new long[] { 100, 108, 116, 124 }, Enumerable.Range(0, 4).Select(b => validation.Inputs[b, 0].item<long>()));
        Assert.All(validation.Targets.data<long>().ToArray(), t => Assert.InRange(t, 101, 199));
    }

    [Fact]
    public void BosStartsEveryWindowAndShiftsTheInputsRightByOne()
    {
        var path = Write("bos.txt", Enumerable.Range(0, 200).Select(i => (byte)i).ToArray());
        var spec = new TextCorpus { Path = path, Length = 8, ValidationFraction = 0.5, Bos = true };
        var task = (TextCorpusTask)TaskFactory.Create(spec, 11);
        Assert.Equal(257, spec.VocabularySize());
        Assert.Equal(257, task.VocabularySize);
        Assert.Equal(256, task.BosId);
        using var train = task.TrainBatch(2, 1, 32);
        var inputs = train.Inputs.data<long>().ToArray();
        var targets = train.Targets.data<long>().ToArray();
        for (var b = 0; b < 32; b++)
            for (var t = 0; t < 8; t++)
            {
                var i = b * 8 + t;
                if (t == 0) Assert.Equal(256, inputs[i]);
                else Assert.Equal(targets[i - 1], inputs[i]); // the input is the previous target
                if (t > 0) Assert.Equal(targets[i - 1] + 1, targets[i]); // targets are consecutive bytes
                Assert.InRange(targets[i], 0, 99);
            }
        // Validation windows start at the same offsets as without BOS; the first target is the window's first byte.
        using var validation = task.ValidationBatch(0, 4);
        Assert.Equal(new long[] { 100, 108, 116, 124 }, Enumerable.Range(0, 4).Select(b => validation.Targets[b, 0].item<long>()));
        Assert.All(Enumerable.Range(0, 4), b => Assert.Equal(256, validation.Inputs[b, 0].item<long>()));
        // Without BOS the same seed gives the same windows, one position later.
        var plain = (TextCorpusTask)TaskFactory.Create(spec with { Bos = false }, 11);
        Assert.Null(plain.BosId);
        using var plainTrain = plain.TrainBatch(2, 1, 32);
        Assert.Equal(plainTrain.Inputs[.., 0].data<long>().ToArray(), train.Targets[.., 0].data<long>().ToArray());
    }

    [Fact]
    public void BosIsOmittedFromJsonUnlessSetAndReadsBack()
    {
        var plain = ModelDsl.Core.Json.SpecJson.Serialize<TaskSpec>(new TextCorpus { Path = "c.txt" });
        Assert.DoesNotContain("bos", plain);
        var withBos = ModelDsl.Core.Json.SpecJson.Serialize<TaskSpec>(new TextCorpus { Path = "c.txt", Bos = true });
        Assert.Contains("\"bos\": true", withBos);
        var back = Assert.IsType<TextCorpus>(ModelDsl.Core.Json.SpecJson.Deserialize<TaskSpec>(withBos));
        Assert.True(back.Bos);
        Assert.False(Assert.IsType<TextCorpus>(ModelDsl.Core.Json.SpecJson.Deserialize<TaskSpec>(plain)).Bos);
    }

    [Fact]
    public void MissingEmptyAndShortFilesGiveClearErrors()
    {
        var missing = Path.Combine(directory, "missing.txt");
        var e1 = Assert.Throws<FileNotFoundException>(() => TaskFactory.Create(new TextCorpus { Path = missing }, 0));
        Assert.Contains(missing, e1.Message);
        var empty = Write("empty.txt", []);
        var e2 = Assert.Throws<InvalidDataException>(() => TaskFactory.Create(new TextCorpus { Path = empty }, 0));
        Assert.Contains(empty, e2.Message);
        Assert.Contains("empty", e2.Message);
        var small = Write("small.txt", new byte[100]);
        var e3 = Assert.Throws<InvalidDataException>(() => TaskFactory.Create(new TextCorpus { Path = small, Length = 16, ValidationFraction = 0.1 }, 0));
        Assert.Contains(small, e3.Message);
        Assert.Contains("100 bytes", e3.Message);
        Assert.Contains("17 bytes", e3.Message);
    }
}
