using TorchSharp;
using static TorchSharp.torch;
using ModelDsl.Runtime.Model;
using ModelDsl.Runtime.Parameters;

namespace ModelDsl.Runtime.Eval;

/// <summary>
/// Massive activations (Sun et al. 2024; arXiv 2505.06708 §4.2): the largest |h| in the residual
/// stream after each block. Measured by replaying the blocks of <see cref="LanguageModel"/> on
/// the token embeddings (exactly its forward up to the final norm), so training pays nothing for it.
/// </summary>
public static class HiddenActivations
{
    /// <summary>max |h| of each block's output, double[depth], for tokens [B, T], without gradients.</summary>
    public static double[] MaxAbsPerLayer(LanguageModel model, Tensor tokens)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var wasTraining = model.training;
        model.eval();
        try
        {
            var embedding = model.NamedParameters().Single(p => p.Role == ParameterRole.Embedding).Parameter;
            var h = embedding.index_select(0, tokens.to(embedding.device).reshape(-1)).view(tokens.shape[0], tokens.shape[1], -1);
            var maxima = new double[model.Blocks.Count];
            for (var i = 0; i < maxima.Length; i++)
            {
                h = model.Blocks[i].forward(h);
                maxima[i] = h.abs().max().to(ScalarType.Float64).item<double>();
            }
            return maxima;
        }
        finally
        {
            if (wasTraining) model.train();
        }
    }
}
