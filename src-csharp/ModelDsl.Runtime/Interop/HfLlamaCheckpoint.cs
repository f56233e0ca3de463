using System.Text.Json;

namespace ModelDsl.Runtime.Interop;

/// <summary>
/// The weight files of a Hugging Face model directory: model.safetensors, or the shards listed by
/// model.safetensors.index.json. Pickled PyTorch files (pytorch_model.bin, *.pt) are never read:
/// unpickling executes code from the file.
/// </summary>
public static class HfLlamaCheckpoint
{
    public const string SingleFile = "model.safetensors";
    public const string IndexFile = "model.safetensors.index.json";

    /// <summary>Every tensor of the directory's safetensors weights, by name.</summary>
    public static IReadOnlyDictionary<string, SafetensorsTensor> ReadTensors(string directory)
    {
        if (!Directory.Exists(directory)) throw new HfLlamaException($"'{directory}': no such directory");
        var single = Path.Combine(directory, SingleFile);
        var index = Path.Combine(directory, IndexFile);
        if (File.Exists(single)) return SafetensorsReader.Read(single).Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        if (File.Exists(index)) return ReadShards(directory, index);
        var pickles = Directory.EnumerateFiles(directory).Select(Path.GetFileName)
            .Where(n => n!.EndsWith(".bin", StringComparison.Ordinal) || n.EndsWith(".pt", StringComparison.Ordinal) || n.EndsWith(".pth", StringComparison.Ordinal))
            .ToList();
        throw new HfLlamaException(pickles.Count > 0
            ? $"'{directory}' holds only pickled PyTorch weights ({string.Join(", ", pickles)}), which are never loaded (unpickling runs code from the file); convert them to {SingleFile} first"
            : $"'{directory}' holds neither {SingleFile} nor {IndexFile}");
    }

    private static Dictionary<string, SafetensorsTensor> ReadShards(string directory, string index)
    {
        Dictionary<string, string> weightMap;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(index));
            if (!document.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new HfLlamaException($"'{index}': weight_map is missing or not an object");
            weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in map.EnumerateObject())
            {
                var shard = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString()! : "";
                if (shard.Length == 0 || shard != Path.GetFileName(shard) || shard is "." or ".." || !shard.EndsWith(".safetensors", StringComparison.Ordinal))
                    throw new HfLlamaException($"'{index}': weight_map.{entry.Name}: {entry.Value.GetRawText()} must name a .safetensors file in the same directory");
                weightMap[entry.Name] = shard;
            }
        }
        catch (JsonException e)
        {
            throw new HfLlamaException($"'{index}': not valid JSON ({e.Message})", e);
        }
        var tensors = new Dictionary<string, SafetensorsTensor>(StringComparer.Ordinal);
        foreach (var shard in weightMap.Values.Distinct().Order(StringComparer.Ordinal))
        {
            var file = Path.Combine(directory, shard);
            foreach (var tensor in SafetensorsReader.Read(file).Tensors)
            {
                if (!weightMap.TryGetValue(tensor.Name, out var listed) || listed != shard)
                    throw new HfLlamaException($"'{file}': tensor '{tensor.Name}' is not listed for this shard in {IndexFile}");
                tensors.Add(tensor.Name, tensor);
            }
        }
        if (weightMap.Keys.FirstOrDefault(name => !tensors.ContainsKey(name)) is { } absent)
            throw new HfLlamaException($"'{index}': tensor '{absent}' is listed in {weightMap[absent]} but that file does not hold it");
        return tensors;
    }
}
