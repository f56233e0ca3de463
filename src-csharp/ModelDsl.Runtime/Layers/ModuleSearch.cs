using static TorchSharp.torch;

namespace ModelDsl.Runtime.Layers;

/// <summary>Finding layers of one kind inside a model.</summary>
public static class ModuleSearch
{
    /// <summary>Every module of type T inside <paramref name="model"/>, each once, in module order:
    /// TorchSharp's modules() can list a module held by a ModuleList twice.</summary>
    public static IReadOnlyList<T> Distinct<T>(nn.Module model) where T : nn.Module =>
        model.modules().OfType<T>().Distinct(ReferenceEqualityComparer.Instance).Cast<T>().ToList();
}
