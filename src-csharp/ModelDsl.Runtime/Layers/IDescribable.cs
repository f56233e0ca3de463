namespace ModelDsl.Runtime.Layers;

/// <summary>A layer that can say what it is, for the model's summary table.</summary>
public interface IDescribable
{
    /// <summary>What the layer computes, e.g. "attention (4 heads, 2 KV heads, RoPE)".</summary>
    string Kind { get; }
    /// <summary>Input and output widths, e.g. "64 -> 64".</summary>
    string Shape { get; }
}
