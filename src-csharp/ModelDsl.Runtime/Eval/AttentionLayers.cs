using ModelDsl.Runtime.Layers;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Eval;

/// <summary>The attention layers of a model in module order, each once: TorchSharp's modules()
/// can list a module more than once, and probes number layers by this list.</summary>
public static class AttentionLayers
{
    public static IReadOnlyList<CausalSelfAttention> Of(nn.Module model) =>
        model.modules().OfType<CausalSelfAttention>().Distinct(ReferenceEqualityComparer.Instance).Cast<CausalSelfAttention>().ToList();
}
