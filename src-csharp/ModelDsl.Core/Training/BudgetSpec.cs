using ModelDsl.Core.Variants;
using System.Text.Json.Serialization;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Training;

/// <summary>How long to train. Every budget resolves to a whole number of optimizer steps.</summary>
public abstract record BudgetSpec
{
    public abstract void Validate(Validator v, string path);

    /// <summary>Optimizer steps, given the tokens one step consumes and the model's non-embedding parameter count.</summary>
    public abstract long Steps(long tokensPerStep, long nonEmbeddingParameters);
}

[Kind("steps")]
public sealed record StepBudget(long Count) : BudgetSpec
{
    public override void Validate(Validator v, string path)
    {
        v.Require(Count >= 1, $"{path}.count", $"{Count} steps: must be at least 1");
        v.Require(Count <= SizeLimits.Steps, $"{path}.count", $"{Count} steps: over the limit {SizeLimits.Steps}");
    }
    public override long Steps(long tokensPerStep, long nonEmbeddingParameters) => Count;
}

[Kind("tokens")]
public sealed record TokenBudget(long Count) : BudgetSpec
{
    public override void Validate(Validator v, string path) => v.Require(Count >= 1, $"{path}.count", $"{Count} tokens: must be at least 1");
    public override long Steps(long tokensPerStep, long nonEmbeddingParameters) =>
        Math.Max(1, (long)Math.Ceiling((double)Count / tokensPerStep));
}

/// <summary>D = Ratio * 20 * N tokens with N the non-embedding parameters (Chinchilla's 20 tokens
/// per parameter; "Fantastic Pretraining Optimizers" §2 uses ratios 1, 2, 4, 8).</summary>
[Kind("chinchilla")]
public sealed record ChinchillaBudget(double Ratio) : BudgetSpec
{
    public const double TokensPerParameter = 20;

    public override void Validate(Validator v, string path) => v.Positive(Ratio, $"{path}.ratio");
    public override long Steps(long tokensPerStep, long nonEmbeddingParameters) =>
        Math.Max(1, (long)Math.Ceiling(Ratio * TokensPerParameter * nonEmbeddingParameters / tokensPerStep));
}
