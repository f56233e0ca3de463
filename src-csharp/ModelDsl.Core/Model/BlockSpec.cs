using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Model;

/// <summary>One residual block: x + attention(norm(x)), then x + feedForward(norm(x)) (pre-norm).</summary>
public sealed record BlockSpec
{
    public AttentionSpec Attention { get; init; } = new();
    public FeedForwardSpec FeedForward { get; init; } = new DenseFeedForward();
    public NormSpec Norm { get; init; } = new RmsNorm();

    public void Validate(Validator v, string path, ModelSpec model)
    {
        if (Attention is null) v.Fail($"{path}.attention", "is missing");
        else Attention.Validate(v, $"{path}.attention", model);
        if (FeedForward is null) v.Fail($"{path}.feedForward", "is missing");
        else FeedForward.Validate(v, $"{path}.feedForward", model);
        if (Norm is null) v.Fail($"{path}.norm", "is missing");
        else Norm.Validate(v, $"{path}.norm");
    }
}
