namespace ModelDsl.Runtime.Training;

/// <summary>Training was cancelled (Ctrl+C, SIGTERM, a caller's token) after a checkpoint was written
/// at <see cref="Step"/>; the run directory resumes from there.</summary>
public sealed class TrainingInterruptedException(string runDirectory, long step, string? checkpointPath)
    : OperationCanceledException(checkpointPath is null
        ? $"training stopped at step {step} in '{runDirectory}' without a checkpoint"
        : $"training stopped at step {step}; checkpoint written to '{checkpointPath}'")
{
    public string RunDirectory { get; } = runDirectory;
    public long Step { get; } = step;
    public string? CheckpointPath { get; } = checkpointPath;
}
