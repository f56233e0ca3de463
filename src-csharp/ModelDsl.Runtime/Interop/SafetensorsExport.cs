using ModelDsl.Runtime.FineTune;
using ModelDsl.Runtime.Runs;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Interop;

/// <summary>
/// Weights-only export of any model: model.safetensors with the runtime's own tensor names (the
/// module state a checkpoint holds) and, beside it, spec.json, the experiment spec that names the
/// architecture those tensors belong to.
/// </summary>
public static class SafetensorsExport
{
    public const string SpecFile = "spec.json";

    public static void Write(nn.Module model, string specJson, string outDirectory)
    {
        HfLlamaExport.RefuseExisting(outDirectory, SpecFile, HfLlamaCheckpoint.SingleFile);
        var tensors = Distinct(model.state_dict()).Select(p => TensorBytes.From(p.Key, p.Value)).ToList();
        SafetensorsWriter.Write(Path.Combine(outDirectory, HfLlamaCheckpoint.SingleFile), tensors, [new("format", "pt")]);
        AtomicFile.WriteAllText(Path.Combine(outDirectory, SpecFile), specJson);
    }

    /// <summary>Each tensor once: a state dictionary may list a tensor under a second name (a submodule
    /// also held in a property's backing field, "&lt;Name&gt;k__BackingField"); the registered name is kept.</summary>
    public static IEnumerable<KeyValuePair<string, Tensor>> Distinct(IDictionary<string, Tensor> state)
    {
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        return state.OrderBy(p => p.Key.Contains('<') ? 1 : 0).Where(p => seen.Add(p.Value)).ToList();
    }

    /// <summary>Exports a run directory's newest verified checkpoint, or a checkpoint file.</summary>
    public static void Write(string runOrCheckpoint, string outDirectory)
    {
        var source = WeightInterpolation.SourceOf(runOrCheckpoint);
        var specJson = ModelLoader.StoredSpecJson(source);
        using var model = ModelLoader.Load(source, WeightInterpolation.StoredDtype(specJson));
        Write(model, specJson, outDirectory);
    }
}
