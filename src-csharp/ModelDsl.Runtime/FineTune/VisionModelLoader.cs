using System.Text.Json;
using ModelDsl.Core.FineTune;
using ModelDsl.Core.Json;
using ModelDsl.Core.Vision;
using ModelDsl.Runtime.Runs;
using ModelDsl.Runtime.Vision;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.FineTune;

/// <summary>
/// Loads a vision-language model (decoder, encoder and projector) from a run or checkpoint source.
/// The stored spec's "model" and "vision" sections must equal the requested ones, initialisation and
/// freezing aside (<see cref="ArchitectureCheck"/>); a mismatch names the first differing field.
/// Only the module state is read, never the optimizer state.
/// </summary>
public static class VisionModelLoader
{
    /// <summary>The first architecture difference between the source's model and <paramref name="spec"/>, or null.</summary>
    public static string? FirstDifference(ModelSource source, VisionLanguageSpec spec, string path = "source")
    {
        var file = ModelLoader.CheckpointPath(source, path);
        var stored = StoredVisionSpec(file)
            ?? throw new ModelSourceException($"{path}: checkpoint '{file}' holds a text-only model (its spec has no vision section), not a vision-language model");
        return ArchitectureCheck.FirstDifference(ModelLoader.StoredModelSpec(file), spec.Decoder)
               ?? ArchitectureCheck.FirstDifference(ToElement(stored), ToElement(spec.Vision), "vision");
    }

    /// <summary>Builds <paramref name="spec"/>'s model and loads the source's weights into it.</summary>
    public static VisionLanguageModel Load(ModelSource source, VisionLanguageSpec spec, ScalarType dtype = ScalarType.Float32, Device? device = null,
        string path = "source")
    {
        var model = VisionModelCompiler.Build(spec, dtype, device);
        try
        {
            LoadInto(source, model, path);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Overwrites every weight of <paramref name="model"/> (frozen ones included) with the source's.</summary>
    public static void LoadInto(ModelSource source, VisionLanguageModel model, string path = "source")
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(model);
        source.EnsureValid(path);
        if (source is not (RunSource or CheckpointSource))
            throw new ModelSourceException($"{path}: a vision-language model loads from a fromRun or checkpoint source, not a {source.GetType().Name}");
        var file = ModelLoader.CheckpointPath(source, path);
        if (FirstDifference(source, model.Spec, path) is { } difference)
            throw new ModelSourceException($"{path}: checkpoint '{file}' holds a different architecture: {difference}");
        Checkpoint.Load(file, model, optimizer: null);
    }

    /// <summary>The "vision" section of a checkpoint's spec JSON, or null when it has none (a text-only model).</summary>
    public static VisionSpec? StoredVisionSpec(string checkpointPath)
    {
        var header = Checkpoint.ReadHeader(checkpointPath);
        try
        {
            using var document = JsonDocument.Parse(header.SpecJson);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("vision", out var vision)
                ? SpecJson.Deserialize<VisionSpec>(vision.GetRawText(), $"checkpoint '{checkpointPath}' spec vision")
                : null;
        }
        catch (JsonException e)
        {
            throw new CheckpointException(checkpointPath, $"its spec JSON cannot be read: {e.Message}", e);
        }
    }

    private static JsonElement ToElement(VisionSpec spec) => JsonDocument.Parse(SpecJson.Serialize(spec)).RootElement;
}
