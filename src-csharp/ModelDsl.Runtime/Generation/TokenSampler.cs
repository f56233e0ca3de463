using ModelDsl.Core.Generation;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Generation;

/// <summary>Draws one token per row from logits [B, vocab] as a <see cref="SamplingSpec"/> says.</summary>
public static class TokenSampler
{
    /// <returns>int64 [B].</returns>
    public static Tensor Sample(Tensor logits, SamplingSpec sampling, torch.Generator? rng = null)
    {
        if (logits.dim() != 2) throw new ArgumentException($"logits must be [batch, vocab], got [{string.Join(", ", logits.shape)}]");
        if (sampling.Greedy) return logits.argmax(-1);
        using var scope = NewDisposeScope();
        var wide = logits.dtype == ScalarType.Float64 ? logits : logits.to(ScalarType.Float32);
        using var temperature = sampling.Temperature.ToScalar(); // held through the native call (see Layers/HeldScalars)
        var probabilities = wide.div(temperature).softmax(-1);
        if (sampling.TopP < 1) probabilities = Nucleus(probabilities, sampling.TopP);
        return probabilities.multinomial(1, generator: rng).squeeze(-1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Keeps the smallest set of most likely tokens whose mass reaches topP (Holtzman et al. 2020,
    /// eq. 2): a token survives when the mass of the tokens ranked above it is below topP, so the
    /// most likely token always survives. The result is unnormalised; multinomial does not need it.
    /// </summary>
    public static Tensor Nucleus(Tensor probabilities, double topP)
    {
        using var scope = NewDisposeScope();
        var (sorted, order) = probabilities.sort(-1, descending: true);
        var massAbove = sorted.cumsum(-1) - sorted;
        using var threshold = topP.ToScalar();
        using var zero = 0.0.ToScalar();
        var kept = sorted.masked_fill(massAbove.ge(threshold), zero);
        return torch.zeros_like(probabilities).scatter(-1, order, kept).MoveToOuterDisposeScope();
    }
}
