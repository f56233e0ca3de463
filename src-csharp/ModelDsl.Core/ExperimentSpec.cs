using ModelDsl.Core.Model;
using ModelDsl.Core.Tasks;
using ModelDsl.Core.Training;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core;

/// <summary>
/// A whole pre-training experiment: the root of the IR. What the F# DSL produces, what a JSON run
/// spec holds, and the only thing the runtime consumes. RL and fine-tuning specs are added as
/// further optional parts of this record.
/// </summary>
public sealed record ExperimentSpec
{
    // Required in JSON: a spec file without them would silently train a default (code keeps the defaults).
    [System.Text.Json.Serialization.JsonRequired] public string Name { get; init; } = "experiment";
    [System.Text.Json.Serialization.JsonRequired] public ModelSpec Model { get; init; } = new();
    [System.Text.Json.Serialization.JsonRequired] public TaskSpec Task { get; init; } = new SparseParity();
    [System.Text.Json.Serialization.JsonRequired] public TrainingSpec Training { get; init; } = new();

    public IReadOnlyList<ValidationError> Validate()
    {
        var v = new Validator();
        v.Require(!string.IsNullOrWhiteSpace(Name) && Name.IndexOfAny(Path.GetInvalidFileNameChars()) < 0 && Name != "." && Name != "..",
            "name", $"'{Name}' must be a non-empty name usable as a folder name");
        if (Model is null) v.Fail("model", "is missing"); else Model.Validate(v, "model");
        if (Task is null) v.Fail("task", "is missing"); else Task.Validate(v, "task");
        if (Training is null) v.Fail("training", "is missing"); else Training.Validate(v, "training");
        if (Model is not null && Task is not null && v.Errors.Count == 0)
        {
            v.Require(Model.Vocab >= Task.VocabularySize(), "model.vocab",
                $"{Model.Vocab} is smaller than the task's vocabulary {Task.VocabularySize()}");
            var longest = Math.Max(Task.SequenceLength(), Task.EvalSequenceLength());
            v.Require(Model.MaxSequenceLength >= longest, "model.maxSequenceLength",
                $"{Model.MaxSequenceLength} is shorter than the task's sequences ({longest} tokens)");
        }
        return v.Errors;
    }

    /// <summary>Throws <see cref="SpecValidationException"/> listing every error, or returns this spec.</summary>
    public ExperimentSpec EnsureValid()
    {
        var errors = Validate();
        if (errors.Count > 0) throw new SpecValidationException(errors);
        return this;
    }
}
