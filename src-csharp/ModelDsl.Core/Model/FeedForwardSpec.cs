using ModelDsl.Core.Variants;
using System.Text.Json.Serialization;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Model;

/// <summary>The per-token feed-forward of a block: dense, or a mixture of experts.</summary>
public abstract record FeedForwardSpec
{
    public abstract void Validate(Validator v, string path, ModelSpec model);
}

public enum Activation { SwiGlu, Gelu, Relu }

/// <summary>
/// Dense feed-forward. SwiGLU: W_down (silu(W_gate x) * W_up x). Hidden null means Llama's rule:
/// 8/3 * width rounded up to a multiple of 64 (equal parameters to a 4x GeLU MLP).
/// </summary>
[Kind("dense")]
public sealed record DenseFeedForward : FeedForwardSpec
{
    public int? Hidden { get; init; }
    public Activation Activation { get; init; } = Activation.SwiGlu;
    public bool Bias { get; init; }

    public int EffectiveHidden(int width) => Hidden ?? DefaultHidden(width, Activation);

    public static int DefaultHidden(int width, Activation activation) =>
        activation == Activation.SwiGlu ? (int)Math.Ceiling(8.0 * width / 3 / 64) * 64 : 4 * width;

    public override void Validate(Validator v, string path, ModelSpec model)
    {
        if (Hidden is { } h) v.Require(h >= 1, $"{path}.hidden", $"{h} must be at least 1");
        v.Require(Enum.IsDefined(Activation), $"{path}.activation", $"{Activation} is not a known activation");
    }
}
