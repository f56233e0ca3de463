namespace ModelDsl.Runtime.Interop;

/// <summary>A safetensors file that is malformed or cannot be written: names the file and the problem.</summary>
public sealed class SafetensorsFormatException(string file, string problem, Exception? inner = null)
    : Exception($"safetensors file '{file}': {problem}", inner)
{
    public string File { get; } = file;
    public string Problem { get; } = problem;
}
