using ModelDsl.Core.Generation;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core.FineTune;

/// <summary>
/// Evaluation by sampling (PAPERS.md §5): <see cref="Samples"/> completions per held-out problem at
/// <see cref="Sampling"/>, scored as pass@k, maj@k and Best@k for every k in <see cref="Ks"/>.
/// </summary>
public sealed record SamplingEvalSpec
{
    public int Problems { get; init; } = 64;
    /// <summary>n, the samples drawn per problem; every k must be at most n.</summary>
    public int Samples { get; init; } = 16;
    public ValueList<int> Ks { get; init; } = new[] { 1, 2, 4, 8, 16 };
    public SamplingSpec Sampling { get; init; } = new() { Temperature = 1.0 };
    /// <summary>Seeds the sampling generator; the same seed gives the same samples.</summary>
    public long Seed { get; init; }
    /// <summary>Rows (prompt copies) generated together.</summary>
    public int BatchSize { get; init; } = 256;

    public void Validate(Validator v, string path)
    {
        v.Require(Problems >= 1, $"{path}.problems", $"{Problems} must be at least 1");
        v.Require(Samples >= 1, $"{path}.samples", $"{Samples} must be at least 1");
        v.Require(BatchSize >= 1, $"{path}.batchSize", $"{BatchSize} must be at least 1");
        if (Ks is null || Ks.Count == 0) v.Fail($"{path}.ks", "needs at least one k");
        else
            for (var i = 0; i < Ks.Count; i++)
                v.Require(Ks[i] >= 1 && Ks[i] <= Samples, $"{path}.ks[{i}]", $"{Ks[i]} must lie in [1, samples = {Samples}]");
        if (Sampling is null) v.Fail($"{path}.sampling", "is missing");
        else Sampling.Validate(v, $"{path}.sampling");
    }

    public SamplingEvalSpec EnsureValid(string path = "samplingEval")
    {
        var v = new Validator();
        Validate(v, path);
        v.ThrowIfAny();
        return this;
    }
}
