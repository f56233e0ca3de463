using ModelDsl.Core.FineTune;
using ModelDsl.Runtime.Compile;
using ModelDsl.Runtime.FineTune;
using ModelDsl.Runtime.Runs;
using static TorchSharp.torch;
using static ModelDsl.Runtime.Tests.FineTune.FineTuneFixtures;

namespace ModelDsl.Runtime.Tests.FineTune;

public sealed class ModelLoaderTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("model-loader-").FullName;
    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void LoadedWeightsReproduceTheSavedModelsOutputsExactly()
    {
        var spec = Experiment();
        using var saved = ModelCompiler.Build(spec.Model, ScalarType.Float32, seed: 11);
        var run = Path.Combine(directory, "run");
        var file = SaveRun(run, spec, saved);
        using var tokens = Tokens(1);
        using var expected = saved.forward(tokens);

        foreach (ModelSource source in new ModelSource[] { new RunSource { Path = run }, new CheckpointSource { Path = file } })
        {
            using var loaded = ModelLoader.Load(source, spec.Model);
            using var actual = loaded.forward(tokens);
            Assert.Equal(expected.data<float>().ToArray(), actual.data<float>().ToArray());
        }
        // A model built from another seed differs, so the equality above is the loading's doing.
        using var other = ModelCompiler.Build(spec.Model, ScalarType.Float32, seed: 12);
        using var otherLogits = other.forward(tokens);
        Assert.NotEqual(expected.data<float>().ToArray(), otherLogits.data<float>().ToArray());
    }

    [Fact]
    public void RunSourceTakesTheNewestCheckpointThatVerifies()
    {
        var spec = Experiment();
        var run = Path.Combine(directory, "run");
        SaveRun(run, spec, seed: 1, step: 1);
        var middle = SaveRun(run, spec, seed: 2, step: 2);
        var newest = SaveRun(run, spec, seed: 3, step: 3);
        var bytes = File.ReadAllBytes(newest);
        bytes[^1] ^= 0xFF;
        File.WriteAllBytes(newest, bytes);
        Assert.Equal(middle, ModelLoader.CheckpointPath(new RunSource { Path = run }));
        using var expected = ModelCompiler.Build(spec.Model, ScalarType.Float32, seed: 2);
        using var loaded = ModelLoader.Load(new RunSource { Path = run }, spec.Model);
        Assert.Equal(Weights(expected), Weights(loaded));
    }

    [Fact]
    public void LoadingIntoAnotherArchitectureNamesTheFirstDifferingField()
    {
        var spec = Experiment(SmallModel(heads: 4));
        var file = SaveRun(Path.Combine(directory, "run"), spec, seed: 1);
        var error = Assert.Throws<ModelSourceException>(() => ModelLoader.Load(new CheckpointSource { Path = file }, SmallModel(heads: 2)));
        Assert.Contains(file, error.Message);
        Assert.Contains("model.blocks[0].attention.heads: checkpoint has 4, spec has 2", error.Message);

        var deeper = Assert.Throws<ModelSourceException>(() => ModelLoader.Load(new CheckpointSource { Path = file }, SmallModel(heads: 4, depth: 3)));
        Assert.Contains("model.blocks: checkpoint has 2 entries, spec has 3", deeper.Message);
    }

    [Fact]
    public void ADifferentInitSpecIsNotADifferentArchitecture()
    {
        var spec = Experiment();
        var file = SaveRun(Path.Combine(directory, "run"), spec, seed: 1);
        var otherInit = spec.Model with { Init = spec.Model.Init with { Std = 0.05 } };
        using var loaded = ModelLoader.Load(new CheckpointSource { Path = file }, otherInit);
        using var expected = ModelCompiler.Build(spec.Model, ScalarType.Float32, seed: 1);
        Assert.Equal(Weights(expected), Weights(loaded));
    }

    [Fact]
    public void MissingAndCorruptCheckpointsGiveErrorsNamingTheFile()
    {
        var spec = Experiment();
        var missing = Path.Combine(directory, "nowhere.ckpt");
        var notFound = Assert.Throws<ModelSourceException>(() => ModelLoader.Load(new CheckpointSource { Path = missing }, spec.Model));
        Assert.Contains(missing, notFound.Message);
        Assert.Contains("no such file", notFound.Message);

        var file = SaveRun(Path.Combine(directory, "run"), spec, seed: 1);
        var bytes = File.ReadAllBytes(file);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(file, bytes);
        var corrupt = Assert.Throws<CheckpointException>(() => ModelLoader.Load(new CheckpointSource { Path = file }, spec.Model));
        Assert.Contains(file, corrupt.Message);
        Assert.Contains("checksum", corrupt.Message);

        var emptyRun = Path.Combine(directory, "empty");
        Directory.CreateDirectory(emptyRun);
        var noCheckpoint = Assert.Throws<ModelSourceException>(() => ModelLoader.Load(new RunSource { Path = emptyRun }, spec.Model));
        Assert.Contains(emptyRun, noCheckpoint.Message);
        Assert.Contains("no valid checkpoint", noCheckpoint.Message);

        var corruptRun = Assert.Throws<ModelSourceException>(() => ModelLoader.Load(new RunSource { Path = Path.Combine(directory, "run") }, spec.Model));
        Assert.Contains("checksum", corruptRun.Message);
    }

    [Fact]
    public void TrainedRunsLoadWithoutTheirOptimizerState()
    {
        // The trainer's checkpoint holds AdamW moments; the loader reads the weights only.
        var spec = Experiment(steps: 2);
        var result = ModelDsl.Runtime.Training.Trainer.Run(spec, new ModelDsl.Runtime.Training.TrainOptions { RunDirectory = Path.Combine(directory, "trained") });
        using var loaded = ModelLoader.Load(new RunSource { Path = result.RunDirectory }, spec.Model);
        using var initial = ModelCompiler.Build(spec.Model, ScalarType.Float32, seed: spec.Training.Seed);
        Assert.NotEqual(Weights(initial), Weights(loaded));
        Assert.Equal(spec.Model, ModelLoader.ArchitectureOf(new RunSource { Path = result.RunDirectory }));
    }
}
