using ModelDsl.Core.FineTune;
using ModelDsl.Runtime.FineTune;
using ModelDsl.Runtime.Model;
using ModelDsl.Runtime.Runs;

namespace ModelDsl.Runtime.Interop;

/// <summary>
/// Writes a model as a Hugging Face LlamaForCausalLM directory: config.json and model.safetensors
/// (HF tensor names, the model's dtype, metadata format "pt" as transformers expects). Only models
/// HF Llama can express are written (<see cref="HfLlamaCompatibility"/>); others are refused naming the feature.
/// </summary>
public static class HfLlamaExport
{
    public const string ConfigFile = "config.json";

    public static void Write(LanguageModel model, string outDirectory)
    {
        ArgumentNullException.ThrowIfNull(model);
        var config = HfLlamaConfig.FromModel(model.Spec, model.Dtype);
        RefuseExisting(outDirectory, ConfigFile, HfLlamaCheckpoint.SingleFile);
        var tensors = HfLlamaWeights.Export(model, config);
        SafetensorsWriter.Write(Path.Combine(outDirectory, HfLlamaCheckpoint.SingleFile), tensors, [new("format", "pt")]);
        AtomicFile.WriteAllText(Path.Combine(outDirectory, ConfigFile), config.ToJson());
    }

    /// <summary>Exports a run directory's newest verified checkpoint, or a checkpoint file, in the dtype it trained in.</summary>
    public static void Write(string runOrCheckpoint, string outDirectory)
    {
        var source = WeightInterpolation.SourceOf(runOrCheckpoint);
        HfLlamaCompatibility.EnsureExportable(ModelLoader.ArchitectureOf(source));
        using var model = ModelLoader.Load(source, WeightInterpolation.StoredDtype(ModelLoader.StoredSpecJson(source)));
        Write(model, outDirectory);
    }

    internal static void RefuseExisting(string directory, params string[] files)
    {
        foreach (var file in files)
            if (File.Exists(Path.Combine(directory, file)))
                throw new IOException($"'{directory}' already holds {file}; export into a new directory");
    }
}
