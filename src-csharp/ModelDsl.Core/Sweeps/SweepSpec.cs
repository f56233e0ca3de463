using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Sweeps;

/// <summary>
/// A hyperparameter study ("Fantastic Pretraining Optimizers", arXiv 2509.02046): each arm is tuned
/// separately at every Chinchilla ratio; the metric is the held-out loss at the end of the budget.
/// The baseline arm's best losses across ratios give the scaling fit that speedups are read from.
/// </summary>
public sealed record SweepSpec
{
    /// <summary>Names the sweep's folder and its record in the run store.</summary>
    public string Name { get; init; } = "sweep";
    public ValueList<SweepArm> Arms { get; init; } = ValueList<SweepArm>.Empty;
    /// <summary>Data budgets D = ratio * 20 * N; empty trains every arm for its base's own budget.</summary>
    public ValueList<double> Ratios { get; init; } = ValueList<double>.Empty;
    /// <summary>A final validation loss at or above this (or not finite) counts as diverged.</summary>
    public double DivergenceLoss { get; init; } = 6.0;
    /// <summary>Label of the arm speedups are measured against; null takes the first arm.</summary>
    public string? Baseline { get; init; }

    /// <summary>The budgets to sweep: each ratio, or a single null for the bases' own budgets.</summary>
    public IReadOnlyList<double?> Budgets() => Ratios.Count == 0 ? [null] : Ratios.Select(r => (double?)r).ToList();

    public SweepArm BaselineArm() => Baseline is null ? Arms[0] : Arms.First(a => a.Label == Baseline);

    public IReadOnlyList<ValidationError> Validate()
    {
        var v = new Validator();
        v.Require(!string.IsNullOrWhiteSpace(Name) && Name.IndexOfAny(Path.GetInvalidFileNameChars()) < 0 && Name is not ("." or ".."),
            "name", $"'{Name}' must be a non-empty name usable as a folder name");
        if (Arms is null || Arms.Count == 0) v.Fail("arms", "a sweep needs at least one arm");
        else
        {
            for (var i = 0; i < Arms.Count; i++)
                if (Arms[i] is null) v.Fail($"arms[{i}]", "is missing");
                else Arms[i].Validate(v, $"arms[{i}]");
            var labels = Arms.Where(a => a is not null).Select(a => a.Label).ToList();
            v.Require(labels.Distinct().Count() == labels.Count, "arms", "two arms have the same label");
            if (Baseline is not null)
                v.Require(labels.Contains(Baseline), "baseline", $"'{Baseline}' is not the label of an arm ({string.Join(", ", labels)})");
        }
        if (Ratios is null) v.Fail("ratios", "is missing");
        else
        {
            for (var i = 0; i < Ratios.Count; i++) v.Positive(Ratios[i], $"ratios[{i}]");
            v.Require(Ratios.Distinct().Count() == Ratios.Count, "ratios", "a ratio is repeated");
        }
        v.Positive(DivergenceLoss, "divergenceLoss");
        return v.Errors;
    }

    public SweepSpec EnsureValid()
    {
        var errors = Validate();
        if (errors.Count > 0) throw new SpecValidationException(errors);
        return this;
    }
}
