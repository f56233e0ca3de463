using ModelDsl.Core.Validation;

namespace ModelDsl.Core.FineTune;

/// <summary>
/// Supervised fine-tuning: start from the weights of <see cref="Source"/> and train on the
/// experiment's task with a fresh optimizer. The learning rate, schedule and budget are the
/// experiment's TrainingSpec; the loss counts the tokens the task's loss mask marks (the response,
/// for every task with prompts).
/// </summary>
public sealed record SftSpec
{
    public ModelSource Source { get; init; } = new RunSource();

    public void Validate(Validator v, string path) => ModelSource.ValidateChild(Source, v, $"{path}.source");

    public SftSpec EnsureValid(string path = "fineTune")
    {
        var v = new Validator();
        Validate(v, path);
        v.ThrowIfAny();
        return this;
    }
}
