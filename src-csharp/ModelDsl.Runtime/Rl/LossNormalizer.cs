using ModelDsl.Core.Rl;
using TorchSharp;
using static ModelDsl.Runtime.Layers.HeldScalars;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Rl;

/// <summary>
/// The denominators of a <see cref="LossAggregation"/>, counted once over the WHOLE batch and then
/// handed to every micro-batch, so that the sum of the micro-batch losses is the whole-batch loss
/// (and so are the accumulated gradients). Sequences counts completions with at least one counted
/// token (a fully masked completion, e.g. a masked truncated one, takes no part).
/// </summary>
public sealed record LossNormalizer(LossAggregation Aggregation, double Tokens, double Sequences, double Constant)
{
    /// <param name="mask">[B, T] of the whole batch, 1 where a token counts.</param>
    /// <param name="constant">C of <see cref="LossAggregation.ConstantNormalizer"/> (max new tokens unless set).</param>
    public static LossNormalizer For(LossAggregation aggregation, Tensor mask, double constant)
    {
        using var scope = NewDisposeScope();
        var counted = mask.to(ScalarType.Float64);
        var tokens = counted.sum().item<double>();
        var sequences = counted.sum(1).gt(Zero).sum().item<long>();
        return new LossNormalizer(aggregation, tokens, sequences, constant);
    }

    /// <summary>This micro-batch's share of the batch loss: per-token losses [b, T] (already zero where
    /// the mask is 0) reduced with the whole batch's denominators.</summary>
    public Tensor Reduce(Tensor perToken, Tensor mask)
    {
        using var scope = NewDisposeScope();
        // An empty batch has nothing to learn from: its loss is 0 (the max(., 1) only avoids 0/0).
        var sequences = Math.Max(Sequences, 1);
        // The divisors as held Scalars (see HeldScalars), the same doubles as before.
        using var tokenDivisor = Math.Max(Tokens, 1).ToScalar();
        using var sequenceDivisor = sequences.ToScalar();
        using var constantDivisor = (sequences * Constant).ToScalar();
        Tensor result = Aggregation switch
        {
            LossAggregation.TokenMean => perToken.sum().div(tokenDivisor),
            LossAggregation.SequenceMean => (perToken.sum(1) / mask.sum(1).clamp_min(One)).sum().div(sequenceDivisor),
            LossAggregation.ConstantNormalizer => perToken.sum().div(constantDivisor),
            LossAggregation.SequenceSum => perToken.sum().div(sequenceDivisor),
            _ => throw new ArgumentOutOfRangeException(nameof(Aggregation), Aggregation, "unknown loss aggregation"),
        };
        return result.MoveToOuterDisposeScope();
    }
}
