using ModelDsl.Runtime.Attention;

namespace ModelDsl.Runtime.Model;

/// <summary>
/// The keys and values of every layer for the positions a model has already processed, for a
/// batch of sequences that all have the same length. <see cref="LanguageModel.Forward(TorchSharp.torch.Tensor, KvCache)"/>
/// continues at position <see cref="Length"/> and advances it.
/// </summary>
public sealed class KvCache : IDisposable
{
    private readonly LayerCache[] layers;

    internal KvCache(int batch, int capacity, LayerCache[] layers)
    {
        Batch = batch;
        Capacity = capacity;
        this.layers = layers;
    }

    /// <summary>Positions filled so far.</summary>
    public int Length { get; private set; }
    public int Batch { get; }
    public int Capacity { get; }

    internal LayerCache Layer(int index) => layers[index];

    internal void Advance(int tokens) => Length += tokens;

    public void Dispose()
    {
        foreach (var layer in layers) layer.Dispose();
    }
}
