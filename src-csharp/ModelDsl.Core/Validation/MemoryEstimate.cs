using System.Globalization;
using ModelDsl.Core.Model;
using ModelDsl.Core.Training;
using ModelDsl.Core.Variants;

namespace ModelDsl.Core.Validation;

/// <summary>
/// Bytes a training run needs, estimated from the spec alone: weights, gradients, optimizer state
/// (state tensors per parameter by optimizer kind; SOAP adds its Kronecker factors) and the activations
/// one micro-batch keeps for the backward pass. An estimate meant to catch specs that cannot fit
/// (an extra digit in a width) before anything is allocated, not an exact account.
/// </summary>
public sealed record MemoryEstimate(long Parameters, double WeightBytes, double GradientBytes, double OptimizerBytes,
    double ActivationBytes, string OptimizerKind)
{
    public double TotalBytes => WeightBytes + GradientBytes + OptimizerBytes + ActivationBytes;

    /// <summary>The estimate for a spec that validates (an overflowing count gives infinite bytes).</summary>
    public static MemoryEstimate For(ExperimentSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var training = spec.Training;
        var bytes = training.Precision == Precision.Float64 ? 8.0 : 4.0;
        var kind = VariantRegistry.KindOf(training.Optimizer);
        ModelInventory inventory;
        long count;
        try
        {
            inventory = ModelInventory.Of(spec.Model);
            count = inventory.ParameterCount;
        }
        catch (OverflowException)
        {
            return new MemoryEstimate(long.MaxValue, double.PositiveInfinity, double.PositiveInfinity, double.PositiveInfinity,
                double.PositiveInfinity, kind);
        }
        var weights = count * bytes;
        var optimizer = OptimizerStatePerParameter(training.Optimizer) * weights + KroneckerFactorBytes(training.Optimizer, inventory, bytes);
        var activations = ActivationsOf(spec, bytes);
        return new MemoryEstimate(count, weights, weights, optimizer, activations, kind);
    }

    /// <summary>State tensors of the parameters' size each optimizer keeps (moments, previous gradients,
    /// Hessian estimates); for Muon and Scion the bound of their AdamW fallback group.</summary>
    public static double OptimizerStatePerParameter(OptimizerSpec optimizer) => VariantRegistry.KindOf(optimizer) switch
    {
        "lion" => 1,
        "scion" => 1,
        "adamMini" => 1,
        "adamW" or "nAdamW" or "cautious" or "muon" or "soap" => 2,
        // SophiaH: moments, Hessian diagonal and the Hessian-vector product's probe.
        "sophiaH" => 3,
        // MARS: moments and the previous gradient.
        "mars" => 3,
        // Kron (PSGD): momentum and triangular factors, bounded here by one more copy of the parameters.
        "kron" => 2,
        _ => 2,
    };

    /// <summary>SOAP keeps, per matrix [m, n] with both sides at most its preconditioner limit, two
    /// statistics and two eigenbases of m^2 and n^2 entries.</summary>
    private static double KroneckerFactorBytes(OptimizerSpec optimizer, ModelInventory inventory, double bytes)
    {
        if (optimizer is not Soap soap) return 0;
        double total = 0;
        foreach (var p in inventory.Parameters.Where(p => p.Shape.Length == 2))
            foreach (var side in p.Shape)
                if (side <= soap.MaxPreconditionerDim) total += 2.0 * side * side;
        return total * bytes;
    }

    /// <summary>
    /// Values one micro-batch of B sequences of T tokens keeps for backward, per token: per block the
    /// norms, residuals and projections (about 8 widths plus the q/k/v/gate outputs), the feed-forward's
    /// hidden values (3 per hidden unit for SwiGLU, of every chosen expert for a mixture) and the attention
    /// probabilities (heads x T, twice for PaTH); then 3 vocabulary-sized rows for the logits and their gradient.
    /// </summary>
    public static double ActivationsOf(ExperimentSpec spec, double bytesPerValue)
    {
        var model = spec.Model;
        double tokens = (double)spec.Training.MicroBatch * spec.Task.SequenceLength();
        double t = spec.Task.SequenceLength();
        double perToken = 3.0 * model.Vocab;
        foreach (var block in model.Blocks)
        {
            var attention = block.Attention;
            double heads = attention.Heads, headDim = attention.EffectiveHeadDim(model.Width), kv = attention.EffectiveKvHeads;
            perToken += 8.0 * model.Width + (2 * heads + 2 * kv) * headDim;
            perToken += (attention.Position is PathPosition ? 2.0 : 1.0) * heads * t;
            perToken += block.FeedForward switch
            {
                DenseFeedForward dense => (dense.Activation == Activation.SwiGlu ? 3.0 : 2.0) * dense.EffectiveHidden(model.Width),
                MoeFeedForward moe => moe.Experts + 3.0 * moe.TopK * moe.EffectiveExpertHidden(model.Width)
                                      + (moe.Shared is { } s ? 3.0 * s.Count * s.Hidden : 0),
                _ => 4.0 * model.Width,
            };
        }
        return tokens * perToken * bytesPerValue;
    }

    /// <summary>The estimate in words, e.g. "about 3.2 GiB (weights 1 GiB, gradients 1 GiB, adamW state 2 GiB, activations 0.2 GiB)".</summary>
    public string Describe() =>
        $"about {Gib(TotalBytes)} ({Parameters.ToString("N0", CultureInfo.InvariantCulture)} parameters: weights {Gib(WeightBytes)}, " +
        $"gradients {Gib(GradientBytes)}, {OptimizerKind} state {Gib(OptimizerBytes)}; activations of a micro-batch {Gib(ActivationBytes)})";

    public static string Gib(double bytes) =>
        double.IsFinite(bytes) ? (bytes / (1L << 30)).ToString("0.###", CultureInfo.InvariantCulture) + " GiB" : "more than 2^63 bytes";
}
