using ModelDsl.Runtime.Parameters;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Optim;

/// <summary>
/// A parameter as the optimizer treats it: its update rule (Group, e.g. "muon" or "adamW"), the
/// fraction of the peak LR it uses, whether decoupled weight decay applies, whether it belongs to
/// the gradient-clip scope, and its state tensors by name (created lazily at the first step).
/// </summary>
public sealed class ParameterSlot(NamedParameter parameter, string group, double lrRatio, bool decay, bool clipped)
{
    public string Name => parameter.Name;
    public Parameter Parameter => parameter.Parameter;
    public ParameterRole Role => parameter.Role;
    /// <summary>Row counts of the logical matrices in a fused weight; null for one matrix.</summary>
    public IReadOnlyList<long>? RowBlocks => parameter.RowBlocks;
    /// <summary>Query/key heads of a fused attention projection; null elsewhere.</summary>
    public QueryKeyHeads? HeadBlocks => parameter.HeadBlocks;
    public string Group { get; } = group;
    public double LrRatio { get; } = lrRatio;
    public bool Decay { get; } = decay;
    public bool Clipped { get; } = clipped;
    /// <summary>Updates applied to this parameter (steps where it had a gradient); bias corrections use it.</summary>
    public long Steps { get; set; }
    public Dictionary<string, Tensor> State { get; } = new(StringComparer.Ordinal);

    /// <summary>The state tensor <paramref name="key"/>, created by <paramref name="create"/> on first use.</summary>
    public Tensor StateOr(string key, Func<Tensor> create)
    {
        if (!State.TryGetValue(key, out var tensor))
        {
            tensor = create().detach().contiguous().DetachFromDisposeScope();
            State[key] = tensor;
        }
        return tensor;
    }

    /// <summary>Replaces a state tensor (disposing the old one), keeping the new one alive beyond the step's dispose scope.
    /// Stored contiguous: a loaded state is contiguous, and a different memory layout (LAPACK returns column-major
    /// factors) can change matrix-product rounding, which would break bit-exact resume.</summary>
    public void SetState(string key, Tensor value)
    {
        var kept = value.detach().contiguous().DetachFromDisposeScope();
        if (State.Remove(key, out var old) && !ReferenceEquals(old, kept)) old.Dispose();
        State[key] = kept;
    }
}
