using static TorchSharp.torch;

namespace ModelDsl.Runtime.Kernels;

/// <summary>
/// Stacked SwiGLU expert weights: GateUp [E, 2H, D] (rows gate then up per expert) and Down [E, D, H];
/// expert e computes Down[e] (silu(Gate[e] x) * Up[e] x).
/// </summary>
public readonly record struct ExpertWeights(Tensor GateUp, Tensor Down)
{
    public long Experts => GateUp.shape[0];
    public long Hidden => Down.shape[2];

    /// <summary>Expert e on rows x [n, D] -> [n, D].</summary>
    public Tensor Apply(long expert, Tensor x)
    {
        var halves = x.matmul(GateUp[expert].t()).chunk(2, -1);
        return (nn.functional.silu(halves[0]) * halves[1]).matmul(Down[expert].t());
    }
}

/// <summary>Result of combining expert outputs: [N, D] and how many token slots were dropped over capacity.</summary>
public sealed record DispatchResult(Tensor Output, long DroppedSlots, Tensor KeptSlots);
