using ModelDsl.Runtime.Moe;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Distributed;

/// <summary>Global-batch MoE balance over replicas: each micro-batch's expert counts [E] summed over every replica.</summary>
public sealed class CollectiveExpertLoadReducer(ICollective collective) : IExpertLoadReducer
{
    public Tensor SumOverReplicas(Tensor localCounts)
    {
        var counts = localCounts.detach().to(ScalarType.Float64).cpu().contiguous().clone();
        collective.AllReduceSum(counts);
        return counts.to(localCounts.device);
    }
}
