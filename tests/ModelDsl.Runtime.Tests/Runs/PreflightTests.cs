using ModelDsl.Core;
using ModelDsl.Core.FineTune;
using ModelDsl.Core.Model;
using ModelDsl.Core.Tasks;
using ModelDsl.Core.Training;
using ModelDsl.Core.Validation;
using ModelDsl.Runtime.Runs;
using static ModelDsl.Runtime.Tests.FineTune.FineTuneFixtures;

namespace ModelDsl.Runtime.Tests.Runs;

/// <summary>The checks of a valid spec against the machine: device, named files, memory estimate.</summary>
public sealed class PreflightTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("preflight-").FullName;
    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static readonly PreflightOptions Plenty = new() { AvailableBytes = long.MaxValue };

    [Fact]
    public void ASmallValidSpecPasses() => Assert.Empty(Preflight.Check(Experiment(), Plenty));

    [Fact]
    public void CudaWithoutAGpuIsAnErrorAtTrainingDevice()
    {
        var spec = Experiment() with { Training = Experiment().Training with { Device = "cuda" } };
        var errors = Preflight.Check(spec, Plenty);
        if (TorchSharp.torch.cuda.is_available()) Assert.Empty(errors);
        else Assert.Contains(errors, e => e.Path == "training.device" && e.Message.Contains("CUDA is not available"));
        var beyond = Preflight.Check(Experiment() with { Training = Experiment().Training with { Device = "cuda:4096" } }, Plenty);
        Assert.Contains(beyond, e => e.Path == "training.device");
    }

    [Fact]
    public void TheMemoryEstimateIsRefusedWithTheEstimateAndTheOverride()
    {
        var spec = Experiment();
        var errors = Preflight.Check(spec, new PreflightOptions { AvailableBytes = 1024 });
        var error = Assert.Single(errors);
        Assert.Equal("model", error.Path);
        Assert.Contains("GiB", error.Message);
        Assert.Contains("--ignore-memory-check", error.Message);
        Assert.Empty(Preflight.Check(spec, new PreflightOptions { AvailableBytes = 1024, IgnoreMemory = true }));
    }

    [Fact]
    public void TheEstimateCountsWeightsGradientsOptimizerStateAndActivations()
    {
        var spec = Experiment();
        var parameters = ModelInventory.Of(spec.Model).ParameterCount;
        var adam = MemoryEstimate.For(spec);
        Assert.Equal(parameters, adam.Parameters);
        Assert.Equal(4.0 * parameters, adam.WeightBytes);
        Assert.Equal(4.0 * parameters, adam.GradientBytes);
        Assert.Equal(2 * 4.0 * parameters, adam.OptimizerBytes);
        Assert.True(adam.ActivationBytes > 0);
        var lion = MemoryEstimate.For(spec with { Training = spec.Training with { Optimizer = new Lion() } });
        Assert.Equal(4.0 * parameters, lion.OptimizerBytes);
        var float64 = MemoryEstimate.For(spec with { Training = spec.Training with { Precision = Precision.Float64 } });
        Assert.Equal(8.0 * parameters, float64.WeightBytes);
        Assert.Equal(2 * adam.ActivationBytes, float64.ActivationBytes);
        var biggerBatch = MemoryEstimate.For(spec with { Training = spec.Training with { MicroBatch = 16 } });
        Assert.Equal(2 * adam.ActivationBytes, biggerBatch.ActivationBytes, 6);
        // An overflowing parameter count is an infinite estimate, never an exception.
        var absurd = spec with { Model = spec.Model with { Blocks = new ValueList<BlockSpec>([new BlockSpec { FeedForward =
            new MoeFeedForward { Experts = int.MaxValue, TopK = 1, ExpertHidden = int.MaxValue } }]) } };
        Assert.True(double.IsPositiveInfinity(MemoryEstimate.For(absurd).TotalBytes));
        Assert.NotEmpty(Preflight.Check(absurd, new PreflightOptions()));
    }

    [Fact]
    public void FilesTheSpecNamesMustExist()
    {
        var missing = Path.Combine(directory, "nowhere");
        var corpus = Experiment() with { Task = new TextCorpus { Path = Path.Combine(missing, "corpus.txt"), Length = 8 }, Model = SmallModel() with { Vocab = 256 } };
        Assert.Contains(Preflight.Check(corpus, Plenty), e => e.Path == "task.path" && e.Message.Contains("does not exist"));
        var folder = corpus with { Task = new TextCorpus { Path = directory, Length = 8 } };
        Assert.Contains(Preflight.Check(folder, Plenty), e => e.Path == "task.path" && e.Message.Contains("directory"));
        var mixture = corpus with
        {
            Task = new TaskMixture { Components = new ValueList<MixtureComponent>([
                new MixtureComponent { Domain = "a", Task = Arithmetic }, new MixtureComponent { Domain = "b", Task = new TextCorpus { Path = missing, Length = 8 } }]) },
        };
        Assert.Contains(Preflight.Check(mixture, Plenty), e => e.Path == "task.components[1].task.path");

        var fromRun = Experiment() with { Init = new RunSource { Path = missing } };
        Assert.Contains(Preflight.Check(fromRun, Plenty), e => e.Path == "init.path" && e.Message.Contains(missing));
        var fromCheckpoint = Experiment() with { Init = new CheckpointSource { Path = Path.Combine(missing, "step-1.ckpt") } };
        Assert.Contains(Preflight.Check(fromCheckpoint, Plenty), e => e.Path == "init.path" && e.Message.Contains("no such file"));

        // Both sides of an interpolation are checked (the architecture is read from A only when training).
        var good = Path.Combine(directory, "good");
        SaveRun(good, Experiment(), seed: 1);
        var interpolated = Experiment() with { Init = new InterpolatedSource { A = new RunSource { Path = good }, B = new RunSource { Path = missing } } };
        var errors = Preflight.Check(interpolated, Plenty);
        Assert.Contains(errors, e => e.Path == "init.b.path");
        Assert.DoesNotContain(errors, e => e.Path.StartsWith("init.a", StringComparison.Ordinal));
        Assert.Empty(Preflight.Check(Experiment() with { Init = new RunSource { Path = good } }, Plenty));

        var otherArchitecture = Experiment() with { Model = SmallModel() with { Width = SmallModel().Width * 2 }, Init = new RunSource { Path = good } };
        Assert.Contains(Preflight.Check(otherArchitecture, Plenty), e => e.Path == "init" && e.Message.Contains("different architecture"));
    }
}
