using ModelDsl.Core.Validation;

namespace ModelDsl.Core.FineTune;

/// <summary>
/// Perturbation sensitivity (PAPERS.md §6): the increase of the held-out loss of <see cref="Source"/>
/// after theta + gamma * eps, for every gamma, averaged over the noise seeds.
/// </summary>
public sealed record PerturbationSpec
{
    public ModelSource Source { get; init; } = new RunSource();
    public ValueList<double> Gammas { get; init; } = new[] { 0.0, 0.01, 0.02, 0.05, 0.1 };
    public ValueList<long> NoiseSeeds { get; init; } = new[] { 0L, 1L, 2L };

    public void Validate(Validator v, string path)
    {
        ModelSource.ValidateChild(Source, v, $"{path}.source");
        if (Gammas is null || Gammas.Count == 0) v.Fail($"{path}.gammas", "needs at least one gamma");
        else for (var i = 0; i < Gammas.Count; i++) v.NonNegative(Gammas[i], $"{path}.gammas[{i}]");
        if (NoiseSeeds is null || NoiseSeeds.Count == 0) v.Fail($"{path}.noiseSeeds", "needs at least one seed");
    }

    public PerturbationSpec EnsureValid(string path = "perturbation")
    {
        var v = new Validator();
        Validate(v, path);
        v.ThrowIfAny();
        return this;
    }
}
