using ModelDsl.Core.FineTune;
using ModelDsl.Runtime.Compile;
using ModelDsl.Runtime.FineTune;
using ModelDsl.Runtime.Runs;
using ModelDsl.Runtime.Tasks;
using ModelDsl.Runtime.Training;
using static TorchSharp.torch;
using static ModelDsl.Runtime.Tests.FineTune.FineTuneFixtures;
using TaskFactory = ModelDsl.Runtime.Tasks.TaskFactory;
using ModelDsl.Runtime.Model;

namespace ModelDsl.Runtime.Tests.FineTune;

public sealed class SupervisedFineTuningTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("sft-").FullName;
    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static (double Loss, float[] Gradient) LossAndGradient(LanguageModel model, Batch batch)
    {
        foreach (var p in model.parameters()) p.grad = null;
        var loss = GradientAccumulation.Backward(model, [batch], CPU);
        var gradient = model.parameters().SelectMany(p => p.grad!.data<float>().ToArray()).ToArray();
        return (loss, gradient);
    }

    [Fact]
    public void TheLossCountsResponseTokensOnly()
    {
        var task = (ChainedArithmeticTask)TaskFactory.Create(Arithmetic, 1);
        using var model = ModelCompiler.Build(SmallModel(), seed: 4);
        using var batch = task.TrainBatch(0, 0, 4);
        // Target position t predicts token t + 1; the prompt is a_1 .. a_S '=', so targets 0 .. S-1
        // (a_2 .. a_S and '=') are prompt tokens and targets S .. are the response (the answer after '=').
        var promptTargets = Arithmetic.Steps;
        var mask = batch.LossMask.data<float>().ToArray();
        var length = (int)batch.LossMask.shape[1];
        for (var i = 0; i < mask.Length; i++) Assert.Equal(i % length < promptTargets ? 0f : 1f, mask[i]);

        var (loss, gradient) = LossAndGradient(model, batch);
        using var promptChanged = batch.Targets.clone();
        promptChanged[0, 0] = (promptChanged[0, 0] + 1) % Arithmetic.Modulus;
        promptChanged[2, promptTargets - 1] = (promptChanged[2, promptTargets - 1] + 2) % Arithmetic.Modulus;
        var (promptLoss, promptGradient) = LossAndGradient(model, batch with { Targets = promptChanged });
        Assert.Equal(loss, promptLoss);
        Assert.Equal(gradient, promptGradient);

        using var responseChanged = batch.Targets.clone();
        responseChanged[1, length - 1] = (responseChanged[1, length - 1] + 1) % Arithmetic.Modulus;
        var (responseLoss, responseGradient) = LossAndGradient(model, batch with { Targets = responseChanged });
        Assert.NotEqual(loss, responseLoss);
        Assert.NotEqual(gradient, responseGradient);
    }

    [Fact]
    public void FineTuningStartsFromTheSourceWeightsWithAFreshOptimizerAndItsOwnBudget()
    {
        var source = Path.Combine(directory, "pretrained");
        var pretrain = Experiment(steps: 5);
        var pretrained = Trainer.Run(pretrain, new TrainOptions { RunDirectory = source });
        Assert.Equal(5, pretrained.Steps);

        var sft = Experiment(steps: 3, lr: 3e-3) with { Name = "sft" };
        var result = SupervisedFineTuning.Run(sft, new SftSpec { Source = new RunSource { Path = source } },
            new TrainOptions { RunDirectory = Path.Combine(directory, "sft") });
        Assert.Equal(3, result.Steps);
        var recorded = ModelDsl.Core.Json.SpecJson.Deserialize<SftSpec>(File.ReadAllText(Path.Combine(result.RunDirectory, SupervisedFineTuning.ProvenanceFile)));
        Assert.Equal(new RunSource { Path = source }, recorded.Source);
        Assert.Equal(3, Checkpoint.ReadHeader(ModelLoader.CheckpointPath(new RunSource { Path = result.RunDirectory })).Step);

        // The first step's loss is the pretrained model's loss on the first fine-tuning batch.
        using var start = ModelLoader.Load(new RunSource { Path = source }, sft.Model);
        var task = TaskFactory.Create(sft.Task, sft.Training.Seed);
        var batches = Enumerable.Range(0, sft.Training.AccumulationSteps).Select(m => task.TrainBatch(0, m, sft.Training.MicroBatch)).ToList();
        var startLoss = GradientAccumulation.Backward(start, batches, CPU);
        Assert.Equal(startLoss, result.TrainLosses[0], 5);
        // A model trained from scratch on the same batches starts elsewhere.
        using var scratch = ModelCompiler.Build(sft.Model, seed: sft.Training.Seed);
        Assert.True(Math.Abs(GradientAccumulation.Backward(scratch, batches, CPU) - result.TrainLosses[0]) > 1e-3);
    }

    [Fact]
    public void ASourceOfAnotherArchitectureFailsBeforeAnyRunDirectoryIsCreated()
    {
        var source = Path.Combine(directory, "other");
        SaveRun(source, Experiment(SmallModel(heads: 4)), seed: 1);
        var runs = Path.Combine(directory, "runs");
        var error = Assert.Throws<ModelSourceException>(() => SupervisedFineTuning.Run(Experiment(), new SftSpec { Source = new RunSource { Path = source } },
            new TrainOptions { RunsRoot = runs }));
        Assert.Contains("model.blocks[0].attention.heads: checkpoint has 4, spec has 2", error.Message);
        Assert.False(Directory.Exists(runs));
    }
}
