using ModelDsl.Core.FineTune;
using ModelDsl.Core.Json;
using ModelDsl.Runtime.FineTune;
using ModelDsl.Runtime.Interop;
using ModelDsl.Runtime.Training;
using static TorchSharp.torch;
using static ModelDsl.Runtime.Tests.FineTune.FineTuneFixtures;
using TaskFactory = ModelDsl.Runtime.Tasks.TaskFactory;

namespace ModelDsl.Runtime.Tests.Interop;

/// <summary>An imported HF Llama as a run directory, as the init of a fine-tuning run, and the weights-only safetensors export.</summary>
public sealed class HfLlamaImportRunTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("hf-import-").FullName;
    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void AnImportedRunDirectoryLoadsTheSameModel()
    {
        using var model = HfLlamaFixtures.Random(HfLlamaFixtures.Untied());
        var hf = Path.Combine(directory, "hf");
        HfLlamaExport.Write(model, hf);
        var run = Path.Combine(directory, "run");
        HfLlamaImport.WriteRun(hf, run);

        Assert.Null(ArchitectureCheck.FirstDifference(ModelLoader.ArchitectureOf(new RunSource { Path = run }), HfLlamaFixtures.Untied()));
        Assert.IsType<HuggingFaceSource>(SpecJson.Deserialize<ModelSource>(File.ReadAllText(Path.Combine(run, "source.json")), "source.json"));
        using var back = ModelLoader.Load(new RunSource { Path = run });
        using var tokens = HfLlamaFixtures.Tokens(13);
        Assert.True(HfLlamaFixtures.SameBits(model.forward(tokens), back.forward(tokens)));
        Assert.Throws<IOException>(() => HfLlamaImport.WriteRun(hf, run));

        // And out again: the run directory exports to the same HF files.
        var again = Path.Combine(directory, "again");
        HfLlamaExport.Write(run, again);
        Assert.Equal(File.ReadAllBytes(Path.Combine(hf, "model.safetensors")), File.ReadAllBytes(Path.Combine(again, "model.safetensors")));
        Assert.Equal(File.ReadAllText(Path.Combine(hf, "config.json")), File.ReadAllText(Path.Combine(again, "config.json")));
    }

    [Fact]
    public void FineTuningStartsFromAHuggingFaceCheckpoint()
    {
        var spec = Experiment(steps: 2, lr: 3e-3) with { Name = "from-hf" };
        using var pretrained = HfLlamaFixtures.Random(spec.Model);
        var hf = Path.Combine(directory, "hf");
        HfLlamaExport.Write(pretrained, hf);
        var tuned = spec with { Init = new HuggingFaceSource { Path = hf } };
        var result = Trainer.Run(tuned, new TrainOptions { RunDirectory = Path.Combine(directory, "ft") });
        Assert.Equal(2, result.Steps);

        // The first loss is the HF model's loss on the first batch, not a fresh model's.
        var task = TaskFactory.Create(spec.Task, spec.Training.Seed);
        var batches = Enumerable.Range(0, spec.Training.AccumulationSteps).Select(m => task.TrainBatch(0, m, spec.Training.MicroBatch)).ToList();
        Assert.Equal(GradientAccumulation.Backward(pretrained, batches, CPU), result.TrainLosses[0], 5);
    }

    [Fact]
    public void AnyModelExportsItsWeightsAsSafetensorsWithItsSpec()
    {
        // A model HF Llama cannot express (QK-norm) still exports weights-only under the runtime's names.
        var spec = Experiment() with
        {
            Model = SmallModel() with { Blocks = new Core.ValueList<Core.Model.BlockSpec>(SmallModel().Blocks.Select(b => b with { Attention = b.Attention with { QkNorm = true } })) },
        };
        var run = Path.Combine(directory, "run");
        SaveRun(run, spec, seed: 4);
        var out1 = Path.Combine(directory, "weights");
        SafetensorsExport.Write(run, out1);
        Assert.Throws<HfLlamaException>(() => HfLlamaExport.Write(run, Path.Combine(directory, "hf")));

        var file = SafetensorsReader.Read(Path.Combine(out1, "model.safetensors"));
        using var model = ModelLoader.Load(new RunSource { Path = run });
        var state = SafetensorsExport.Distinct(model.state_dict()).ToList();
        Assert.Equal(state.Select(p => p.Key).Order(StringComparer.Ordinal), file.Names.Order(StringComparer.Ordinal));
        Assert.Contains("blocks.1.attention.queryNorm.weight", file.Names);
        Assert.DoesNotContain(file.Names, n => n.Contains('<'));
        foreach (var (name, tensor) in state)
            Assert.True(HfLlamaFixtures.SameBits(TensorBytes.ToTensor(file[name]), tensor), name);
        Assert.Equal(SpecJson.Serialize(spec), File.ReadAllText(Path.Combine(out1, "spec.json")));
    }
}
