using System.Text.Json.Serialization;
using ModelDsl.Core.FineTune;
using ModelDsl.Core.Model;
using ModelDsl.Core.Rl;
using ModelDsl.Core.Tasks;
using ModelDsl.Core.Training;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core;

/// <summary>
/// A whole experiment: the root of the IR. What the F# DSL produces, what a JSON run spec holds, and
/// the only thing the runtime consumes. Next-token training from a fresh model by default; from a
/// trained model's weights with <see cref="Init"/> (fine-tuning); RL post-training with <see cref="Rl"/>.
/// </summary>
public sealed partial record ExperimentSpec
{
    /// <summary>The spec format version (<see cref="Json.SpecFormat"/>): written first on every spec; a spec
    /// file without it is version 1, and older versions are migrated as they are read.</summary>
    public int FormatVersion { get; init; } = Json.SpecFormat.Current;
    // Required in JSON: a spec file without them would silently train a default (code keeps the defaults).
    [System.Text.Json.Serialization.JsonRequired] public string Name { get; init; } = "experiment";
    [System.Text.Json.Serialization.JsonRequired] public ModelSpec Model { get; init; } = new();
    [System.Text.Json.Serialization.JsonRequired] public TaskSpec Task { get; init; } = new SparseParity();
    [System.Text.Json.Serialization.JsonRequired] public TrainingSpec Training { get; init; } = new();
    /// <summary>Weights to start from (fine-tuning, RL); null: a fresh initialisation. Omitted from JSON when null.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ModelSource? Init { get; init; }
    /// <summary>When set, the experiment is RL post-training from <see cref="Init"/> instead of
    /// next-token training. Omitted from JSON when null.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public RlSpec? Rl { get; init; }
    /// <summary>An image encoder and projector before the decoder <see cref="Model"/>: the experiment
    /// trains a vision-language model on an image task. Omitted from JSON when null.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Vision.VisionSpec? Vision { get; init; }
    /// <summary>When set, the experiment is preference post-training of a vision-language model from
    /// <see cref="Init"/> (the frozen reference) with this objective. Omitted from JSON when null.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Vision.PreferenceObjective? Preference { get; init; }

    public IReadOnlyList<ValidationError> Validate()
    {
        var v = new Validator();
        v.Require(FormatVersion == Json.SpecFormat.Current, "formatVersion", $"{FormatVersion} is not the current spec format version {Json.SpecFormat.Current}");
        v.Require(!string.IsNullOrWhiteSpace(Name) && Name.IndexOfAny(Path.GetInvalidFileNameChars()) < 0 && Name != "." && Name != "..",
            "name", $"'{Name}' must be a non-empty name usable as a folder name");
        if (Model is null) v.Fail("model", "is missing"); else Model.Validate(v, "model");
        if (Task is null) v.Fail("task", "is missing"); else Task.Validate(v, "task");
        if (Training is null) v.Fail("training", "is missing"); else Training.Validate(v, "training");
        ValidatePostTraining(v);
        ValidateVision(v);
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

    /// <summary>Rules of <see cref="Init"/> and <see cref="Rl"/>: RL starts from a trained model, on a
    /// task whose training sequences split into a prompt and a verifiable answer, and QuestA hints need
    /// one token beyond the task's vocabulary for the hint marker.</summary>
    private void ValidatePostTraining(Validator v)
    {
        Init?.Validate(v, "init");
        // Sampled completions hold the prompt and the whole answer: one position more than a training input.
        if ((Rl is not null || Training?.Eval?.Sampling is not null) && Model is not null && Task is not null and not TextCorpus)
        {
            var needed = Math.Max(Task.SequenceLength(), Task.EvalSequenceLength()) + 1;
            v.Require(Model.MaxSequenceLength >= needed, "model.maxSequenceLength",
                $"{Model.MaxSequenceLength} is too short to sample completions (prompt and answer: {needed} tokens) for {(Rl is not null ? "rl" : "training.eval.sampling")}");
        }
        if (Rl is null) return;
        Rl.Validate(v, "rl");
        if (Init is null) v.Fail("init", "is missing: RL starts from a trained model (e.g. a fromRun source)");
        if (Task is not null && Task is not (ChainedArithmetic or SparseParity or PermutationComposition))
            v.Fail("task", $"RL needs a task with verifiable answers cut from its training sequences (chainedArithmetic, sparseParity, permutationComposition), not {Variants.VariantRegistry.KindOf(Task)}");
        if (Rl.Hints is not null && Model is not null && Task is not null)
            v.Require(Model.Vocab >= Task.VocabularySize() + 1, "model.vocab",
                $"{Model.Vocab} leaves no token for the hint marker of rl.hints (needs at least the task's vocabulary + 1 = {Task.VocabularySize() + 1})");
    }

    /// <summary>Throws <see cref="SpecValidationException"/> listing every error, or returns this spec.</summary>
    public ExperimentSpec EnsureValid()
    {
        var errors = Validate();
        if (errors.Count > 0) throw new SpecValidationException(errors);
        return this;
    }
}
