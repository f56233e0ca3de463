using static TorchSharp.torch;

namespace ModelDsl.Runtime.Optim;

/// <summary>
/// The orthogonalised directions of a step's matrix group (Muon, Scion), computed for all matrices at
/// once before the per-parameter updates take them one by one. They live in the step's dispose scope.
/// </summary>
internal sealed class MatrixDirections
{
    private readonly Dictionary<ParameterSlot, Tensor> pending = new(ReferenceEqualityComparer.Instance);

    /// <summary>For every slot of <paramref name="group"/> with a gradient: U = <paramref name="update"/>(slot, gradient)
    /// (it may advance the slot's momentum), then NS(U) per row block, batched by shape.</summary>
    public void Compute(IReadOnlyList<ParameterSlot> slots, string group, int steps, Func<ParameterSlot, Tensor, Tensor> update)
    {
        pending.Clear();
        using var noGrad = no_grad();
        var matrices = new List<ParameterSlot>();
        var items = new List<BatchedNewtonSchulz.Item>();
        foreach (var slot in slots)
        {
            if (slot.Group != group) continue;
            var gradient = slot.Parameter.grad;
            if (gradient is null) continue;
            matrices.Add(slot);
            items.Add(new BatchedNewtonSchulz.Item(update(slot, gradient), slot.RowBlocks));
        }
        var directions = BatchedNewtonSchulz.OrthogonalizeBlocks(items, steps);
        for (var i = 0; i < matrices.Count; i++) pending[matrices[i]] = directions[i];
    }

    /// <summary>The direction computed for <paramref name="slot"/> this step.</summary>
    public Tensor Take(ParameterSlot slot) =>
        pending.Remove(slot, out var direction)
            ? direction
            : throw new InvalidOperationException($"no orthogonalised direction was computed for '{slot.Name}' this step");
}
