using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Model;

/// <summary>One residual block: x + mixer(norm(x)), then x + feedForward(norm(x)) (pre-norm).</summary>
public sealed record BlockSpec
{
    public AttentionSpec Mixer { get; init; } = new();
    public FeedForwardSpec FeedForward { get; init; } = new DenseFeedForward();
    public NormSpec Norm { get; init; } = new RmsNorm();

    public void Validate(Validator v, string path, ModelSpec model)
    {
        if (Mixer is null) v.Fail($"{path}.mixer", "is missing");
        else Mixer.Validate(v, $"{path}.mixer", model);
        if (FeedForward is null) v.Fail($"{path}.feedForward", "is missing");
        else FeedForward.Validate(v, $"{path}.feedForward", model);
        if (Norm is null) v.Fail($"{path}.norm", "is missing");
        else Norm.Validate(v, $"{path}.norm");
    }
}
