namespace ModelDsl.Core.Validation;

/// <summary>One broken rule: where (a JSON-style path such as <c>model.blocks[3].attention.heads</c>) and what.</summary>
public sealed record ValidationError(string Path, string Message)
{
    public override string ToString() => $"{Path}: {Message}";
}

/// <summary>Thrown when a spec that does not validate is used; carries every error.</summary>
public sealed class SpecValidationException(IReadOnlyList<ValidationError> errors)
    : Exception("The spec is invalid:\n" + string.Join("\n", errors.Select(e => "  " + e)))
{
    public IReadOnlyList<ValidationError> Errors { get; } = errors;
}

/// <summary>Collects errors with their paths; the small vocabulary every Validate method uses.</summary>
public sealed class Validator
{
    private readonly List<ValidationError> errors = [];
    public IReadOnlyList<ValidationError> Errors => errors;

    public void Fail(string path, string message) => errors.Add(new ValidationError(path, message));

    public void Require(bool ok, string path, string message)
    {
        if (!ok) Fail(path, message);
    }

    public void Positive(double value, string path) =>
        Require(value > 0 && double.IsFinite(value), path, $"{Show(value)} must be a positive number");

    public void NonNegative(double value, string path) =>
        Require(value >= 0 && double.IsFinite(value), path, $"{Show(value)} must be zero or positive");

    public void Fraction(double value, string path, bool allowOne = true) =>
        Require(value >= 0 && (allowOne ? value <= 1 : value < 1), path,
            $"{Show(value)} must lie in [0, 1{(allowOne ? "]" : ")")}");

    public void InOpenUnit(double value, string path) =>
        Require(value > 0 && value < 1, path, $"{Show(value)} must lie strictly between 0 and 1");

    /// <summary>Adam-style moment decay rates in [0, 1) and a positive epsilon, at path.beta1/.beta2/.eps.</summary>
    public void AdamMoments(double beta1, double beta2, double eps, string path)
    {
        Fraction(beta1, $"{path}.beta1", allowOne: false);
        Fraction(beta2, $"{path}.beta2", allowOne: false);
        Positive(eps, $"{path}.eps");
    }

    public void NotNull(object? value, string path)
    {
        if (value is null) Fail(path, "is missing");
    }

    public static string Show(double value) => value.ToString("G6", System.Globalization.CultureInfo.InvariantCulture);

    public void ThrowIfAny()
    {
        if (errors.Count > 0) throw new SpecValidationException(errors);
    }
}
