using ModelDsl.Core.Variants;
using System.Text.Json.Serialization;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Model;

public abstract record NormSpec
{
    public abstract void Validate(Validator v, string path);
}

/// <summary>RMSNorm: x / sqrt(mean(x^2) + Eps) * g (Zhang and Sennrich 2019).</summary>
[Kind("rmsNorm")]
public sealed record RmsNorm : NormSpec
{
    public double Eps { get; init; } = 1e-6;

    public override void Validate(Validator v, string path) => v.Positive(Eps, $"{path}.eps");
}
