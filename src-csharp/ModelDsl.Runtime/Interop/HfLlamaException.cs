namespace ModelDsl.Runtime.Interop;

/// <summary>A model, config or checkpoint that cannot cross to or from Hugging Face Llama: the message
/// names the file or field and the reason.</summary>
public sealed class HfLlamaException(string message, Exception? inner = null) : Exception(message, inner);
