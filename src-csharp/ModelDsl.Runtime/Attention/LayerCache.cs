namespace ModelDsl.Runtime.Attention;

/// <summary>
/// What one attention layer remembers about the positions it has already processed, so that
/// decoding a new token does not recompute them. Each attention layer chooses its own contents: plain
/// attention keeps keys and values; data-dependent position encodings keep more.
/// </summary>
public abstract class LayerCache : IDisposable
{
    /// <summary>The number of positions the cache can hold.</summary>
    public abstract long Capacity { get; }

    public abstract void Dispose();
}
