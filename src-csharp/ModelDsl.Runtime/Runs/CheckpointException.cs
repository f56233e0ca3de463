namespace ModelDsl.Runtime.Runs;

/// <summary>A checkpoint that cannot be used (corrupt, truncated, or written for another spec); names the file.</summary>
public sealed class CheckpointException(string path, string problem, Exception? inner = null)
    : Exception($"checkpoint '{path}': {problem}", inner)
{
    public string CheckpointPath { get; } = path;
}
