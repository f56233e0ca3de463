using ModelDsl.Core;
using ModelDsl.Runtime.FineTune;
using ModelDsl.Runtime.Model;
using ModelDsl.Runtime.Runs;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Training;

/// <summary>
/// Starting from a trained model (<see cref="ExperimentSpec.Init"/>): the model is built as usual and the
/// source's weights are loaded into it, with a fresh optimizer and the experiment's own schedule and
/// budget. A run that resumes from its own checkpoint never reads the source again: its checkpoint holds
/// the weights it has since trained.
/// </summary>
public static partial class Trainer
{
    /// <summary>
    /// Checks the source's architecture against the experiment's model before a run directory is made,
    /// so a wrong source leaves nothing behind. Skipped when the run will resume from its own checkpoint.
    /// </summary>
    internal static void CheckInitArchitecture(ExperimentSpec spec, TrainOptions options)
    {
        if (spec.Init is not { } init || WillResume(options)) return;
        if (ArchitectureCheck.FirstDifference(ModelLoader.ArchitectureOf(init, "init"), spec.Model) is { } difference)
            throw new ModelSourceException($"init holds a different architecture than the experiment's model: {difference}");
    }

    /// <summary>Loads the source's weights into a freshly built model; nothing when the spec has no init.</summary>
    internal static void LoadInitialWeights(ExperimentSpec spec, nn.Module module)
    {
        if (spec.Init is not { } init) return;
        if (module is not LanguageModel languageModel)
            throw new NotSupportedException($"init: weights load into compiled language models only, not a {module.GetType().Name}");
        ModelLoader.LoadInto(init, languageModel, "init");
    }

    /// <summary>Whether the run directory given in the options already holds a checkpoint that verifies.</summary>
    internal static bool WillResume(TrainOptions options) =>
        options.RunDirectory is { } directory && Directory.Exists(directory) &&
        new CheckpointStore(Path.Combine(directory, "checkpoints"), keep: 1).LatestValid(out _) is not null;
}

public static partial class Trainer
{
    /// <summary>The element type and device a spec's training settings ask for (shared with the RL loop).</summary>
    internal static (ScalarType Dtype, Device Device) DtypeAndDevice(ModelDsl.Core.Training.TrainingSpec training) =>
        (training.Precision switch
        {
            ModelDsl.Core.Training.Precision.Float32 => ScalarType.Float32,
            ModelDsl.Core.Training.Precision.Float64 => ScalarType.Float64,
            _ => throw new NotSupportedException($"training.precision: {training.Precision} is not supported; use float32 or float64"),
        }, ResolveDevice(training.Device));
}
