using ModelDsl.Core;
using ModelDsl.Core.Json;
using ModelDsl.Core.Model;
using ModelDsl.Core.Tasks;
using ModelDsl.Core.Training;
using ModelDsl.Runtime.Compile;
using ModelDsl.Runtime.Runs;
using static TorchSharp.torch;
using ModelDsl.Runtime.Model;

namespace ModelDsl.Runtime.Tests.FineTune;

/// <summary>Tiny chained-arithmetic experiments and checkpoints written without training.</summary>
internal static class FineTuneFixtures
{
    public static readonly ChainedArithmetic Arithmetic = new() { Modulus = 5, Steps = 3 };

    public static ModelSpec SmallModel(int heads = 2, int depth = 2) =>
        ModelSpec.Llama(vocab: Arithmetic.VocabularySize(), width: 16, depth: depth, heads: heads) with { MaxSequenceLength = 16 };

    public static ExperimentSpec Experiment(ModelSpec? model = null, int steps = 4, double lr = 1e-2) => new()
    {
        Name = "ft",
        Model = model ?? SmallModel(),
        Task = Arithmetic,
        Training = new TrainingSpec
        {
            Optimizer = new Core.Training.AdamW { Lr = lr },
            Schedule = new ConstantSchedule(),
            Budget = new StepBudget(steps),
            GlobalBatch = 16,
            MicroBatch = 8,
            Eval = new EvalSpec { Every = 0, Batches = 2, Problems = 0 },
            Checkpoint = new CheckpointSpec { Every = 0, Keep = 1 },
            Seed = 3,
        },
    };

    /// <summary>A model initialised from <paramref name="seed"/>, saved as a run directory's only checkpoint; returns the checkpoint's path.</summary>
    public static string SaveRun(string runDirectory, ExperimentSpec spec, long seed, long step = 5)
    {
        using var model = ModelCompiler.Build(spec.Model, ScalarType.Float32, seed: seed);
        return SaveRun(runDirectory, spec, model, step);
    }

    public static string SaveRun(string runDirectory, ExperimentSpec spec, LanguageModel model, long step = 5)
    {
        var store = new CheckpointStore(Path.Combine(runDirectory, "checkpoints"), keep: 3);
        return store.Save(new CheckpointHeader(step, SpecJson.Serialize(spec), [1.0], 0), model, optimizer: null);
    }

    public static float[] Weights(nn.Module module) =>
        module.state_dict().Values.SelectMany(t => t.to(ScalarType.Float32).data<float>().ToArray()).ToArray();

    public static Tensor Tokens(long seed) =>
        randint(0, Arithmetic.VocabularySize(), [3, 6], ScalarType.Int64, generator: new TorchSharp.torch.Generator((ulong)seed));
}
