using ModelDsl.Runtime.Layers;
using static TorchSharp.torch;
using ModelDsl.Runtime.Attention;

namespace ModelDsl.Runtime.Eval;

/// <summary>Gate-score statistics of one gated layer (arXiv 2505.06708 §4.1: effective gates are
/// sparse, most scores near 0): the mean gate value and the fraction of values below a threshold.</summary>
public sealed record GateSparsity(int Layer, double MeanGate, double FractionBelow, double Threshold);

/// <summary>
/// Observes the gate values act(X W_theta) of every gated <see cref="CausalSelfAttention"/> layer
/// (layer = index among all attention layers in module order). Disposing detaches.
/// </summary>
public sealed class GateProbe : IDisposable
{
    private readonly IReadOnlyList<AttentionGate> gates;

    private GateProbe(IReadOnlyList<AttentionGate> gates) => this.gates = gates;

    public static GateProbe Attach(nn.Module model, Action<int, Tensor> onGate)
    {
        var layers = ModuleSearch.Distinct<CausalSelfAttention>(model);
        if (layers.Any(l => l.Gate?.GateCapture is not null))
            throw new InvalidOperationException("a gate probe is already attached to this model");
        var gates = new List<AttentionGate>();
        for (var i = 0; i < layers.Count; i++)
        {
            if (layers[i].Gate is not { } gate) continue;
            var index = i;
            gate.GateCapture = values => onGate(index, values);
            gates.Add(gate);
        }
        return new GateProbe(gates);
    }

    /// <summary>Statistics of gate values (any shape) against a threshold.</summary>
    public static GateSparsity Summarise(int layer, Tensor values, double threshold = 0.1)
    {
        using var scope = NewDisposeScope();
        var v = values.to(ScalarType.Float64);
        return new GateSparsity(layer, v.mean().item<double>(), v.lt(threshold).to(ScalarType.Float64).mean().item<double>(), threshold);
    }

    /// <summary>Gate statistics per gated layer of one forward pass over inputs [B, T], without
    /// gradients, in eval mode; empty for a model without gates.</summary>
    public static GateSparsity[] Measure(nn.Module<Tensor, Tensor> model, Tensor inputs, double threshold = 0.1)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var wasTraining = model.training;
        model.eval();
        var statistics = new List<GateSparsity>();
        try
        {
            using (Attach(model, (layer, values) => statistics.Add(Summarise(layer, values, threshold))))
                model.forward(inputs);
        }
        finally
        {
            if (wasTraining) model.train();
        }
        return statistics.OrderBy(s => s.Layer).ToArray();
    }

    public void Dispose()
    {
        foreach (var gate in gates) gate.GateCapture = null;
    }
}
