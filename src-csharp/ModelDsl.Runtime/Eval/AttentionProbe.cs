using ModelDsl.Runtime.Layers;
using static TorchSharp.torch;
using ModelDsl.Runtime.Attention;

namespace ModelDsl.Runtime.Eval;

/// <summary>
/// Observes the attention probabilities of every <see cref="CausalSelfAttention"/> layer of a model
/// (in module order): while attached, each forward pass hands (layer index, probabilities
/// [B, H, T, S]) to the callback; disposing detaches and restores the SDPA fast path.
/// </summary>
public sealed class AttentionProbe : IDisposable
{
    private readonly IReadOnlyList<CausalSelfAttention> layers;

    private AttentionProbe(IReadOnlyList<CausalSelfAttention> layers) => this.layers = layers;

    public int Layers => layers.Count;

    public static AttentionProbe Attach(nn.Module model, Action<int, Tensor> onAttention)
    {
        var layers = ModuleSearch.Distinct<CausalSelfAttention>(model);
        if (layers.Any(l => l.AttentionCapture is not null))
            throw new InvalidOperationException("an attention probe is already attached to this model");
        for (var i = 0; i < layers.Count; i++)
        {
            var index = i;
            layers[i].AttentionCapture = probabilities => onAttention(index, probabilities);
        }
        return new AttentionProbe(layers);
    }

    /// <summary>
    /// Mean normalised attention entropy per layer and head ([layer][head]) of one forward pass over
    /// <paramref name="inputs"/> without gradients, over the query rows selected by
    /// <paramref name="rows"/> ([B, T], null = all); see <see cref="AttentionEntropy"/>.
    /// </summary>
    public static double[][] MeanEntropies(nn.Module<Tensor, Tensor> model, Tensor inputs, Tensor? rows = null)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var wasTraining = model.training;
        model.eval();
        var entropies = new List<(int Layer, double[] Heads)>();
        try
        {
            using (Attach(model, (layer, p) => entropies.Add((layer, AttentionEntropy.MeanPerHead(p, 0, rows)))))
                model.forward(inputs);
        }
        finally
        {
            if (wasTraining) model.train();
        }
        return entropies.OrderBy(e => e.Layer).Select(e => e.Heads).ToArray();
    }

    public void Dispose()
    {
        foreach (var layer in layers) layer.AttentionCapture = null;
    }
}
