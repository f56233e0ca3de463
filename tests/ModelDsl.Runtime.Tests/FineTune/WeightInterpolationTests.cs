using ModelDsl.Core.FineTune;
using ModelDsl.Core.Json;
using ModelDsl.Runtime.Compile;
using ModelDsl.Runtime.FineTune;
using ModelDsl.Runtime.Runs;
using static TorchSharp.torch;
using static ModelDsl.Runtime.Tests.FineTune.FineTuneFixtures;

namespace ModelDsl.Runtime.Tests.FineTune;

public sealed class WeightInterpolationTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("interpolation-").FullName;
    public void Dispose() => Directory.Delete(directory, recursive: true);

    private (string A, string B) TwoRuns(ModelDsl.Core.ExperimentSpec spec)
    {
        var a = Path.Combine(directory, "a");
        var b = Path.Combine(directory, "b");
        SaveRun(a, spec, seed: 1);
        SaveRun(b, spec, seed: 2);
        return (a, b);
    }

    private static int[] Bits(nn.Module module) =>
        module.state_dict().Values.SelectMany(t => t.data<float>().ToArray()).Select(BitConverter.SingleToInt32Bits).ToArray();

    [Fact]
    public void EndpointsAreBitExactAndTheMidpointIsTheMean()
    {
        var spec = Experiment();
        var (a, b) = TwoRuns(spec);
        using var modelA = ModelCompiler.Build(spec.Model, ScalarType.Float32, seed: 1);
        using var modelB = ModelCompiler.Build(spec.Model, ScalarType.Float32, seed: 2);

        var at0 = WeightInterpolation.Write(a, b, 0.0, Path.Combine(directory, "at0"));
        var at1 = WeightInterpolation.Write(a, b, 1.0, Path.Combine(directory, "at1"));
        using var loaded0 = ModelLoader.Load(new RunSource { Path = Path.Combine(directory, "at0") }, spec.Model);
        using var loaded1 = ModelLoader.Load(new CheckpointSource { Path = at1 }, spec.Model);
        Assert.Equal(Bits(modelA), Bits(loaded0));
        Assert.Equal(Bits(modelB), Bits(loaded1));

        WeightInterpolation.Write(a, b, 0.5, Path.Combine(directory, "half"));
        using var half = ModelLoader.Load(new RunSource { Path = Path.Combine(directory, "half") }, spec.Model);
        var stateA = modelA.state_dict();
        var stateB = modelB.state_dict();
        var changed = 0;
        foreach (var (name, mixed) in half.state_dict())
        {
            // Reference: the fp64 mean rounded once to float32.
            var x = stateA[name].data<float>().ToArray();
            var y = stateB[name].data<float>().ToArray();
            var mean = x.Zip(y, (p, q) => (float)(((double)p + q) / 2)).ToArray();
            Assert.Equal(mean, mixed.data<float>().ToArray());
            if (!x.SequenceEqual(y)) changed++;
        }
        Assert.True(changed > 0);
    }

    [Fact]
    public void WrittenInterpolationIsANormalVerifiedCheckpointWithProvenance()
    {
        var spec = Experiment();
        var (a, b) = TwoRuns(spec);
        var output = Path.Combine(directory, "mix");
        var file = WeightInterpolation.Write(a, b, 0.3, output);
        var header = Checkpoint.ReadHeader(file);
        Assert.Equal(SpecJson.Serialize(spec), header.SpecJson);
        Assert.Equal(SpecJson.Serialize(spec), File.ReadAllText(Path.Combine(output, "spec.json")));
        var source = Assert.IsType<InterpolatedSource>(SpecJson.Deserialize<ModelSource>(File.ReadAllText(Path.Combine(output, "source.json"))));
        Assert.Equal(0.3, source.Alpha);
        // The same mix through the in-memory source gives the written weights.
        using var direct = ModelLoader.Load(source, spec.Model);
        using var written = ModelLoader.Load(new RunSource { Path = output }, spec.Model);
        Assert.Equal(Weights(direct), Weights(written));
        Assert.Throws<IOException>(() => WeightInterpolation.Write(a, b, 0.3, output));
    }

    [Fact]
    public void MismatchedArchitecturesGiveAClearError()
    {
        var a = Path.Combine(directory, "a");
        var b = Path.Combine(directory, "b");
        SaveRun(a, Experiment(SmallModel(heads: 2)), seed: 1);
        SaveRun(b, Experiment(SmallModel(heads: 4)), seed: 2);
        var error = Assert.Throws<ModelSourceException>(() => WeightInterpolation.Write(a, b, 0.5, Path.Combine(directory, "out")));
        Assert.StartsWith("source.b:", error.Message);
        Assert.Contains("model.blocks[0].attention.heads: checkpoint has 4, spec has 2", error.Message);
        Assert.False(File.Exists(Path.Combine(directory, "out", "spec.json")));
    }

    [Fact]
    public void MixRejectsAlphaOutsideTheUnitInterval()
    {
        using var x = ModelCompiler.Build(SmallModel(), seed: 1);
        using var y = ModelCompiler.Build(SmallModel(), seed: 2);
        Assert.Throws<ArgumentOutOfRangeException>(() => WeightInterpolation.Mix(x, y, 1.5));
    }
}
