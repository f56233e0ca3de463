namespace ModelDsl.Runtime.FineTune;

/// <summary>A model source that cannot be loaded: names the source's path in the spec and the problem (and the file, when there is one).</summary>
public sealed class ModelSourceException(string message, Exception? inner = null) : Exception(message, inner);
