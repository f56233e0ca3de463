using static TorchSharp.torch;
using ModelDsl.Runtime.Model;

namespace ModelDsl.Runtime.Eval;

/// <summary>
/// What the gated-attention paper (arXiv 2505.06708) measures, as one set of named metrics for a
/// batch: attention-sink mass per layer and head (<see cref="AttentionSinkMass"/>), the largest
/// hidden activation per layer (<see cref="HiddenActivations"/>) and, for gated layers, the mean gate
/// and the fraction of gate values below 0.1 (<see cref="GateProbe"/>).
/// </summary>
public static class AttentionStatistics
{
    /// <summary>Metrics named sinkMass (mean over layers and heads), sinkMass.layer{i}.head{h},
    /// maxActivation.layer{i}, gateMean.layer{i} and gateBelow0.1.layer{i}.</summary>
    public static IReadOnlyList<KeyValuePair<string, object?>> Measure(LanguageModel model, Tensor inputs)
    {
        var metrics = new List<KeyValuePair<string, object?>>();
        var sink = AttentionSinkMass.Measure(model, inputs);
        metrics.Add(new("sinkMass", sink.SelectMany(h => h).DefaultIfEmpty(double.NaN).Average()));
        for (var layer = 0; layer < sink.Length; layer++)
            for (var head = 0; head < sink[layer].Length; head++)
                metrics.Add(new($"sinkMass.layer{layer}.head{head}", sink[layer][head]));
        var maxima = HiddenActivations.MaxAbsPerLayer(model, inputs);
        for (var layer = 0; layer < maxima.Length; layer++)
            metrics.Add(new($"maxActivation.layer{layer}", maxima[layer]));
        foreach (var gate in GateProbe.Measure(model, inputs))
        {
            metrics.Add(new($"gateMean.layer{gate.Layer}", gate.MeanGate));
            metrics.Add(new($"gateBelow{gate.Threshold:G}.layer{gate.Layer}", gate.FractionBelow));
        }
        return metrics;
    }
}
