using ModelDsl.Core;
using ModelDsl.Core.FineTune;
using ModelDsl.Core.Json;
using ModelDsl.Core.Training;
using ModelDsl.Runtime.FineTune;
using ModelDsl.Runtime.Model;
using ModelDsl.Runtime.Runs;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Interop;

/// <summary>
/// Reads a Hugging Face LlamaForCausalLM directory into the runtime: the IR model from config.json
/// and the weights from safetensors. <see cref="ModelLoader"/> uses it for <see cref="HuggingFaceSource"/>;
/// <see cref="WriteRun"/> turns a directory into a run directory that <c>Source.run</c> loads.
/// </summary>
public static class HfLlamaImport
{
    public static HfLlamaConfig ReadConfig(string directory)
    {
        if (!Directory.Exists(directory)) throw new HfLlamaException($"'{directory}': no such directory");
        return HfLlamaConfig.Read(Path.Combine(directory, HfLlamaExport.ConfigFile));
    }

    /// <summary>Loads the directory's weights into <paramref name="model"/>, which must have been built from the config's model.</summary>
    public static void LoadInto(string directory, LanguageModel model)
    {
        var config = ReadConfig(directory);
        HfLlamaWeights.Import(HfLlamaCheckpoint.ReadTensors(directory), config, model, $"'{directory}'");
    }

    /// <summary>
    /// Writes <paramref name="outDirectory"/> as a run directory: spec.json (an experiment whose model
    /// is the config's and whose precision is the weights' runtime dtype), source.json (the Hugging Face
    /// source, for provenance) and checkpoints/step-00000000.ckpt (weights only), read back and verified.
    /// </summary>
    public static string WriteRun(string hfDirectory, string outDirectory)
    {
        var config = ReadConfig(hfDirectory);
        var checkpoints = Path.Combine(outDirectory, "checkpoints");
        if (new CheckpointStore(checkpoints, keep: 1).List().Count > 0)
            throw new IOException($"'{outDirectory}' already holds checkpoints; import into a new directory");
        var source = new HuggingFaceSource { Path = Path.GetFullPath(hfDirectory) };
        var dtype = config.RuntimeDtype;
        var spec = new ExperimentSpec
        {
            Name = "import-hf",
            Model = config.ToModelSpec(),
            Training = new TrainingSpec { Precision = dtype == ScalarType.Float64 ? Precision.Float64 : Precision.Float32 },
        };
        var specJson = SpecJson.Serialize(spec);
        using var model = ModelLoader.Load(source, spec.Model, dtype);
        Directory.CreateDirectory(checkpoints);
        AtomicFile.WriteAllText(Path.Combine(outDirectory, "spec.json"), specJson);
        AtomicFile.WriteAllText(Path.Combine(outDirectory, "source.json"), SpecJson.Serialize<ModelSource>(source));
        var path = new CheckpointStore(checkpoints, keep: 1).Save(new CheckpointHeader(0, specJson, [], 0), model, optimizer: null);
        Checkpoint.ReadHeader(path);
        return path;
    }
}
