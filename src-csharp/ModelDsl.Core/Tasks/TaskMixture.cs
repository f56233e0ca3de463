using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Tasks;

/// <summary>One domain of a <see cref="TaskMixture"/>: its task, sampling weight and label.</summary>
public sealed record MixtureComponent
{
    public string Domain { get; init; } = "";
    public TaskSpec Task { get; init; } = new SparseParity();
    public double Weight { get; init; } = 1.0;
}

/// <summary>
/// A weighted mixture of tasks (multi-domain data, e.g. for MoE specialisation): every sequence is
/// drawn from one component with probability proportional to its weight and carries that
/// component's index as its domain label. Token ids are shared (vocabulary = the largest
/// component's); shorter sequences are right-padded with token 0 outside the loss.
/// </summary>
public sealed record TaskMixture : TaskSpec
{
    public ValueList<MixtureComponent> Components { get; init; } = ValueList<MixtureComponent>.Empty;

    public override int VocabularySize() => Components.Count == 0 ? 0 : Components.Max(c => c.Task?.VocabularySize() ?? 0);
    public override int SequenceLength() => Components.Count == 0 ? 0 : Components.Max(c => c.Task?.SequenceLength() ?? 0);
    public override int EvalSequenceLength() => Components.Count == 0 ? 0 : Components.Max(c => c.Task?.EvalSequenceLength() ?? 0);

    public override void Validate(Validator v, string path)
    {
        v.Require(Components.Count >= 1, $"{path}.components", "needs at least one component");
        var seen = new HashSet<string>();
        for (var i = 0; i < Components.Count; i++)
        {
            var c = Components[i];
            var at = $"{path}.components[{i}]";
            if (c is null) { v.Fail(at, "is missing"); continue; }
            v.Require(!string.IsNullOrWhiteSpace(c.Domain), $"{at}.domain", "a domain label is required");
            v.Require(c.Domain is null || seen.Add(c.Domain), $"{at}.domain", $"'{c.Domain}' is used by an earlier component");
            v.Require(double.IsFinite(c.Weight) && c.Weight > 0, $"{at}.weight", $"{c.Weight} must be positive and finite");
            if (c.Task is null) v.Fail($"{at}.task", "is missing");
            else if (c.Task is TaskMixture) v.Fail($"{at}.task", "a mixture cannot contain a mixture; list its components directly");
            else c.Task.Validate(v, $"{at}.task");
        }
    }
}
