using System.Text.Json;
using ModelDsl.Core.FineTune;
using ModelDsl.Core.Json;
using ModelDsl.Core.Model;
using ModelDsl.Runtime.Compile;
using ModelDsl.Runtime.Interop;
using ModelDsl.Runtime.Runs;
using static TorchSharp.torch;
using ModelDsl.Runtime.Model;

namespace ModelDsl.Runtime.FineTune;

/// <summary>
/// Builds a spec's model and fills it with the weights a <see cref="ModelSource"/> describes. Only
/// the module state is read from checkpoints, never the optimizer state. Every checkpoint's stored
/// model spec must equal the requested one (initialisation aside, see <see cref="ArchitectureCheck"/>);
/// a mismatch names the first differing field.
/// </summary>
public static class ModelLoader
{
    /// <summary>Builds <paramref name="spec"/>'s model on <paramref name="device"/> and loads the source's weights.</summary>
    public static LanguageModel Load(ModelSource source, ModelSpec spec, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        source.EnsureValid();
        var model = ModelCompiler.Build(spec, dtype, device);
        try
        {
            LoadInto(source, model);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Builds the source's own architecture (<see cref="ArchitectureOf"/>) and loads its weights.</summary>
    public static LanguageModel Load(ModelSource source, ScalarType dtype = ScalarType.Float32, Device? device = null) =>
        Load(source, ArchitectureOf(source), dtype, device);

    /// <summary>Overwrites the parameters and buffers of <paramref name="model"/> (built from model.Spec) with the source's.</summary>
    public static void LoadInto(ModelSource source, LanguageModel model, string path = "source")
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(model);
        source.EnsureValid(path);
        switch (source)
        {
            case RunSource or CheckpointSource:
                LoadCheckpoint(CheckpointPath(source, path), model, path);
                break;
            case InterpolatedSource interpolation:
                LoadInto(interpolation.A, model, $"{path}.a");
                using (var other = ModelCompiler.Build(model.Spec, model.Dtype, model.Device))
                {
                    LoadInto(interpolation.B, other, $"{path}.b");
                    WeightInterpolation.Mix(model, other, interpolation.Alpha);
                }
                break;
            case PerturbedSource perturbed:
                LoadInto(perturbed.Source, model, $"{path}.source");
                WeightPerturbation.Add(model, perturbed.Gamma, perturbed.NoiseSeed);
                break;
            case HuggingFaceSource huggingFace:
                LoadHuggingFace(huggingFace, model, path);
                break;
            default:
                throw new ModelSourceException($"{path}: {source.GetType().Name} is not a known model source");
        }
    }

    /// <summary>
    /// The checkpoint file a run or checkpoint source names: for a run, its newest checkpoint whose
    /// checksum verifies (newer corrupt ones are skipped and reported only if none verifies).
    /// </summary>
    public static string CheckpointPath(ModelSource source, string path = "source") => source switch
    {
        CheckpointSource checkpoint => File.Exists(checkpoint.Path) ? checkpoint.Path
            : throw new ModelSourceException($"{path}.path: checkpoint '{checkpoint.Path}': no such file"),
        RunSource run => LatestCheckpoint(run.Path, path),
        _ => throw new ModelSourceException($"{path}: a {source.GetType().Name} is not a single checkpoint"),
    };

    /// <summary>The model spec the source's weights were trained with (for an interpolation, A's; for a perturbation, its source's).</summary>
    public static ModelSpec ArchitectureOf(ModelSource source, string path = "source") => source switch
    {
        RunSource or CheckpointSource => StoredModelSpec(CheckpointPath(source, path)),
        InterpolatedSource interpolation => ArchitectureOf(interpolation.A, $"{path}.a"),
        PerturbedSource perturbed => ArchitectureOf(perturbed.Source, $"{path}.source"),
        HuggingFaceSource huggingFace => HuggingFace(path, () => HfLlamaImport.ReadConfig(huggingFace.Path).ToModelSpec()),
        _ => throw new ModelSourceException($"{path}: {source.GetType().Name} is not a known model source"),
    };

    /// <summary>The spec JSON stored in the checkpoint a run or checkpoint source names.</summary>
    public static string StoredSpecJson(ModelSource source, string path = "source") =>
        Checkpoint.ReadHeader(CheckpointPath(source, path)).SpecJson;

    /// <summary>The "model" section of a checkpoint's spec JSON, read as a <see cref="ModelSpec"/>.</summary>
    public static ModelSpec StoredModelSpec(string checkpointPath)
    {
        var header = Checkpoint.ReadHeader(checkpointPath);
        try
        {
            using var document = JsonDocument.Parse(header.SpecJson);
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("model", out var model))
                throw new CheckpointException(checkpointPath, "its spec JSON has no \"model\" section, so its architecture is unknown");
            return SpecJson.Deserialize<ModelSpec>(model.GetRawText(), $"checkpoint '{checkpointPath}' spec model");
        }
        catch (JsonException e)
        {
            throw new CheckpointException(checkpointPath, $"its spec JSON cannot be read: {e.Message}", e);
        }
    }

    private static void LoadCheckpoint(string file, LanguageModel model, string path)
    {
        if (VisionModelLoader.StoredVisionSpec(file) is not null)
            throw new ModelSourceException($"{path}: checkpoint '{file}' holds a vision-language model (its spec has a vision section); load it into a vision experiment");
        var stored = StoredModelSpec(file);
        if (ArchitectureCheck.FirstDifference(stored, model.Spec) is { } difference)
            throw new ModelSourceException($"{path}: checkpoint '{file}' holds a different architecture: {difference}");
        Checkpoint.Load(file, model, optimizer: null);
    }

    private static void LoadHuggingFace(HuggingFaceSource source, LanguageModel model, string path)
    {
        var stored = HuggingFace(path, () => HfLlamaImport.ReadConfig(source.Path).ToModelSpec());
        if (ArchitectureCheck.FirstDifference(stored, model.Spec) is { } difference)
            throw new ModelSourceException($"{path}: Hugging Face model '{source.Path}' holds a different architecture: {difference}");
        HuggingFace(path, () => { HfLlamaImport.LoadInto(source.Path, model); return 0; });
    }

    /// <summary>Reports a Hugging Face directory's problems as this source's, under its path in the spec.</summary>
    private static T HuggingFace<T>(string path, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is HfLlamaException or SafetensorsFormatException)
        {
            throw new ModelSourceException($"{path}.path: {e.Message}", e);
        }
    }

    private static string LatestCheckpoint(string runDirectory, string path)
    {
        if (!Directory.Exists(runDirectory))
            throw new ModelSourceException($"{path}.path: run directory '{runDirectory}' does not exist");
        var store = new CheckpointStore(Path.Combine(runDirectory, "checkpoints"), keep: 1);
        return store.LatestValid(out var skipped)
               ?? throw new ModelSourceException($"{path}.path: run directory '{runDirectory}' holds no valid checkpoint" +
                                                 (skipped.Count > 0 ? $" ({string.Join("; ", skipped)})" : " (its checkpoints/ folder is empty)"));
    }
}
