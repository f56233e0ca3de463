using ModelDsl.Core.Variants;
using System.Text.Json.Serialization;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Model;

/// <summary>How attention learns token order. New encodings (e.g. PaTH) are new subclasses.</summary>
public abstract record PositionSpec
{
    public virtual void Validate(Validator v, string path, int headDim) { }
}

/// <summary>Rotary position embedding (Su et al.), rotating pairs (i, i + d/2) by angle pos * Theta^(-2i/d).</summary>
[Kind("rope")]
public sealed record Rope : PositionSpec
{
    public double Theta { get; init; } = 10000;

    public override void Validate(Validator v, string path, int headDim)
    {
        v.Require(Theta > 1 && double.IsFinite(Theta), $"{path}.theta", $"{Validator.Show(Theta)} must be greater than 1");
        v.Require(headDim % 2 == 0, path, $"RoPE needs an even head dimension, got {headDim}");
    }
}

/// <summary>No position encoding (NoPE): the causal mask alone breaks symmetry.</summary>
[Kind("none")]
public sealed record NoPosition : PositionSpec;

/// <summary>
/// PaTH (Yang et al. 2025, arXiv 2505.16381): a data-dependent position encoding. Each token t
/// contributes a Householder-like transition H_t = I - beta_t w_t w_t^T, and the score of query i
/// with key j is q_i^T H_i H_(i-1) ... H_(j+1) k_j. w_t comes from the block input through a
/// projection (low rank by default), a causal depthwise short convolution with SiLU and a per-head
/// L2 normalisation; beta_t = 2 sigmoid(W_beta x_t + b) lies in (0, 2) (negative eigenvalues
/// allowed). w and beta are per key/value head (one transition per key stream, as in the authors'
/// implementation); the optional forget gate is per query head. (Named PathPosition, not Path,
/// so that it never shadows System.IO.Path.)
/// </summary>
[Kind("path")]
public sealed record PathPosition : PositionSpec
{
    /// <summary>Inner width of the w projection (width -> LowRank -> kvHeads * headDim); null
    /// projects directly (width -> kvHeads * headDim).</summary>
    public int? LowRank { get; init; } = 32;

    /// <summary>Kernel of the causal depthwise convolution applied to w (then SiLU); null or 0
    /// means no convolution.</summary>
    public int? ShortConvKernel { get; init; } = 3;

    /// <summary>PaTH-FoX: add the forget-gate term scale * (G_i - G_j), G the cumulative sum of
    /// g_t = logsigmoid(W_g x_t + b), to every score.</summary>
    public bool ForgetGate { get; init; }

    public override void Validate(Validator v, string path, int headDim)
    {
        if (LowRank is { } rank)
            v.Require(rank >= 1, $"{path}.lowRank", $"{rank} must be at least 1 (or null for a full-rank w projection)");
        if (ShortConvKernel is { } kernel)
            v.Require(kernel >= 0, $"{path}.shortConvKernel", $"{kernel} must be zero or positive (0 or null means no short convolution)");
    }
}
