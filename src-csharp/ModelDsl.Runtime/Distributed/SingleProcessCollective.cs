using static TorchSharp.torch;

namespace ModelDsl.Runtime.Distributed;

/// <summary>One replica: every collective is the identity.</summary>
public sealed class SingleProcessCollective : ICollective
{
    public static readonly SingleProcessCollective Instance = new();

    private SingleProcessCollective() { }

    public int Rank => 0;
    public int Size => 1;
    public void AllReduceSum(Span<double> values) { }
    public void AllReduceSum(Tensor values) { }
    public void Broadcast(Span<byte> bytes, int root) { }
    public void Broadcast(Tensor values, int root) { }
    public void Barrier() { }
}
