using ModelDsl.Runtime.Layers;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Training;

/// <summary>The training loop's view of a model's mixture-of-experts layers.</summary>
public static class MixtureOfExpertsTraining
{
    /// <summary>Every MoE feed-forward inside the module once, in module order.</summary>
    public static IReadOnlyList<MixtureOfExpertsFeedForward> Layers(nn.Module module) => ModuleSearch.Distinct<MixtureOfExpertsFeedForward>(module);

    /// <summary>Tells every MoE layer which positions of the next batch are padding (null: none).</summary>
    public static void SetPadding(IEnumerable<MixtureOfExpertsFeedForward> layers, Tensor? padding)
    {
        foreach (var layer in layers) layer.Padding = padding;
    }

    /// <summary>Clears the global-batch expert counts: called before the first micro-batch of each optimizer step.</summary>
    public static void BeginOptimizerStep(IEnumerable<MixtureOfExpertsFeedForward> layers)
    {
        foreach (var layer in layers) layer.GlobalCounts.Reset();
    }
}
