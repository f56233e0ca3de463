namespace ModelDsl.Runtime.Interop;

/// <summary>The content of a safetensors file: its tensors in file order and its string metadata
/// (the header's optional "__metadata__", in file order).</summary>
public sealed class SafetensorsFile(IReadOnlyList<SafetensorsTensor> tensors, IReadOnlyList<KeyValuePair<string, string>> metadata)
{
    private readonly Dictionary<string, SafetensorsTensor> byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);

    public IReadOnlyList<SafetensorsTensor> Tensors { get; } = tensors;
    public IReadOnlyList<KeyValuePair<string, string>> Metadata { get; } = metadata;

    public SafetensorsTensor this[string name] => byName[name];
    public bool Contains(string name) => byName.ContainsKey(name);
    public IEnumerable<string> Names => Tensors.Select(t => t.Name);

    public string? MetadataValue(string key) => Metadata.FirstOrDefault(p => p.Key == key) is { Key: not null } pair ? pair.Value : null;
}
