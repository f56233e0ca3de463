using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Eval;

/// <summary>
/// Attention-sink mass (Xiao et al. 2023; Qiu et al. 2025, arXiv 2505.06708 §4): the attention
/// probability a query puts on the first token, averaged over queries. The query at position 0 can
/// attend only to the first token (probability 1 by construction), so it is left out.
/// </summary>
public static class AttentionSinkMass
{
    /// <summary>Mean probability on key 0 per head, double[H], over the batch and the query rows of
    /// causal probabilities [B, H, T, S] whose queries sit at positions queryStart .. queryStart+T-1,
    /// excluding a query at position 0. NaN per head when no row is left.</summary>
    public static double[] PerHead(Tensor probabilities, long queryStart = 0)
    {
        if (probabilities.dim() != 4)
            throw new ArgumentException($"attention probabilities must be [batch, heads, queries, keys], got {probabilities.dim()} dimensions");
        var (heads, queries, keys) = (probabilities.shape[1], probabilities.shape[2], probabilities.shape[3]);
        if (queryStart < 0 || keys != queryStart + queries)
            throw new ArgumentException($"causal attention of {queries} queries from position {queryStart} has {queryStart + queries} keys, not {keys}");
        var skip = queryStart == 0 ? 1 : 0;
        if (queries - skip < 1) return Enumerable.Repeat(double.NaN, (int)heads).ToArray();
        using var scope = NewDisposeScope();
        var onFirst = probabilities.select(-1, 0).narrow(2, skip, queries - skip).to(ScalarType.Float64);
        return onFirst.mean([0, 2]).cpu().data<double>().ToArray();
    }

    /// <summary>Sink mass per layer and head ([layer][head]) of one forward pass over inputs [B, T],
    /// without gradients, in eval mode, through <see cref="AttentionProbe"/>.</summary>
    public static double[][] Measure(nn.Module<Tensor, Tensor> model, Tensor inputs)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var wasTraining = model.training;
        model.eval();
        var masses = new List<(int Layer, double[] Heads)>();
        try
        {
            using (AttentionProbe.Attach(model, (layer, p) => masses.Add((layer, PerHead(p)))))
                model.forward(inputs);
        }
        finally
        {
            if (wasTraining) model.train();
        }
        return masses.OrderBy(m => m.Layer).Select(m => m.Heads).ToArray();
    }
}
