using ModelDsl.Core.Variants;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Tasks;

/// <summary>One domain of a <see cref="TaskMixture"/>: its task, sampling weight and label.</summary>
public sealed record MixtureComponent
{
    public string Domain { get; init; } = "";
    public TaskSpec Task { get; init; } = new SparseParity();
    public double Weight { get; init; } = 1.0;
}

/// <summary>How a mixture's training batches draw their domains.</summary>
public enum MixtureGrouping
{
    /// <summary>Every sequence draws its own domain, so a micro-batch mixes domains.</summary>
    PerSequence,
    /// <summary>Every training micro-batch draws one domain for all its sequences, as when data are
    /// packed from domain-sorted shards: what a balance loss computed per micro-batch sees is then a
    /// single domain (Qiu et al. 2025, arXiv 2501.11873 §3). Validation batches still mix domains.</summary>
    PerMicroBatch,
}

/// <summary>
/// A weighted mixture of tasks (multi-domain data, e.g. for MoE specialisation): every sequence
/// (or, with <see cref="MixtureGrouping.PerMicroBatch"/>, every training micro-batch) is drawn from
/// one component with probability proportional to its weight and carries that component's index as
/// its domain label. Token ids are shared (vocabulary = the largest component's); shorter sequences
/// are right-padded with token 0 outside the loss.
/// </summary>
[Kind("taskMixture")]
public sealed record TaskMixture : TaskSpec
{
    public ValueList<MixtureComponent> Components { get; init; } = ValueList<MixtureComponent>.Empty;
    public MixtureGrouping Grouping { get; init; } = MixtureGrouping.PerSequence;

    public override int VocabularySize() => Components.Count == 0 ? 0 : Components.Max(c => c.Task?.VocabularySize() ?? 0);
    public override int SequenceLength() => Components.Count == 0 ? 0 : Components.Max(c => c.Task?.SequenceLength() ?? 0);
    public override int EvalSequenceLength() => Components.Count == 0 ? 0 : Components.Max(c => c.Task?.EvalSequenceLength() ?? 0);

    public override void Validate(Validator v, string path)
    {
        v.Require(Components.Count >= 1, $"{path}.components", "needs at least one component");
        v.Require(Enum.IsDefined(Grouping), $"{path}.grouping", $"{Grouping} is not a known grouping");
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
