using ModelDsl.Core;
using ModelDsl.Core.FineTune;
using ModelDsl.Core.Json;
using ModelDsl.Runtime.Runs;
using ModelDsl.Runtime.Training;
using ModelDsl.Runtime.Model;

namespace ModelDsl.Runtime.FineTune;

/// <summary>
/// Supervised fine-tuning: the pre-training loop (<see cref="Trainer"/>) run on the experiment's
/// task, schedule and budget, with the model's weights taken from <see cref="SftSpec.Source"/> and a
/// fresh optimizer (no optimizer state is carried over). The loss counts the tokens the task's loss
/// mask marks; every task with prompts marks only the response (the tokens after the prompt). A
/// run directory that already holds a checkpoint of this experiment resumes from it, as any run does.
/// </summary>
public static class SupervisedFineTuning
{
    public static TrainResult Run(ExperimentSpec spec, SftSpec sft, TrainOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(sft);
        spec.EnsureValid();
        sft.EnsureValid();
        // Checked before the run directory is created, so a wrong source leaves nothing behind.
        if (ArchitectureCheck.FirstDifference(ModelLoader.ArchitectureOf(sft.Source, "fineTune.source"), spec.Model) is { } difference)
            throw new ModelSourceException($"fineTune.source holds a different architecture than the experiment's model: {difference}");
        var result = Trainer.Run(spec, options, (model, dtype, device, seed) =>
        {
            var trainable = Trainer.BuildLanguageModel(model, dtype, device, seed);
            try
            {
                ModelLoader.LoadInto(sft.Source, (LanguageModel)trainable.Module, "fineTune.source");
            }
            catch
            {
                trainable.Module.Dispose();
                throw;
            }
            return trainable;
        });
        // Provenance next to spec.json: where the weights came from.
        AtomicFile.WriteAllText(Path.Combine(result.RunDirectory, ProvenanceFile), SpecJson.Serialize(sft));
        return result;
    }

    /// <summary>The file in a fine-tuning run's directory that records its <see cref="SftSpec"/>.</summary>
    public const string ProvenanceFile = "fineTune.json";
}
