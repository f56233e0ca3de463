using TorchSharp;
using static ModelDsl.Runtime.Layers.HeldScalars;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Optim;

/// <summary>
/// The shared step of every optimizer (levanter's convention, PAPERS.md section 1): clip the clip
/// scope's gradients to a global norm, u = Direction(g), u += wd W on decayed slots,
/// W -= lr_t ratio u. Subclasses supply only the direction and its state.
/// </summary>
public abstract class OptimizerBase : IOptimizer
{
    private readonly List<ParameterSlot> slots;

    protected OptimizerBase(double lr, double weightDecay, double? clipGradNorm, IEnumerable<ParameterSlot> slots)
    {
        if (clipGradNorm is { } clip && !(clip > 0)) throw new ArgumentOutOfRangeException(nameof(clipGradNorm), clip, "must be positive");
        Lr = lr;
        WeightDecay = weightDecay;
        weightDecayScalar = weightDecay;
        ClipGradNorm = clipGradNorm;
        this.slots = slots.ToList();
        var duplicate = this.slots.GroupBy(s => s.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"parameter '{duplicate.Key}' is listed twice");
    }

    public double Lr { get; }
    public double WeightDecay { get; }
    private readonly Scalar weightDecayScalar;
    public double? ClipGradNorm { get; }
    public IReadOnlyList<ParameterSlot> Slots => slots;
    public long StepCount { get; private set; }
    public virtual bool NeedsHessianVectorProduct => false;

    /// <summary>
    /// The update direction u (before weight decay) for one parameter at its slot step t (1-based),
    /// or null to leave the parameter unchanged this step (SOAP's initialising first step).
    /// Runs under no_grad inside the step's dispose scope; keep state with <see cref="ParameterSlot.SetState"/>.
    /// </summary>
    protected abstract Tensor? Direction(ParameterSlot slot, Tensor gradient, long t);

    /// <summary>Work that needs autograd before the update (Sophia-H's Hessian-vector product); gradients are already clipped.</summary>
    protected virtual void BeforeUpdate(StepContext context) { }

    public double Step(double learningRateMultiplier, StepContext context) => Step(learningRateMultiplier, context, MeasureGradients());

    /// <summary>
    /// The step with the gradients already measured by <see cref="MeasureGradients"/> (the caller
    /// logged or judged that norm; the gradients must not have changed since), so that the norm is
    /// computed once per step. <paramref name="afterClip"/>, when given, is called once the clip
    /// scope is clipped and before any update (a timing mark). Returns the global norm before clipping.
    /// </summary>
    public double Step(double learningRateMultiplier, StepContext context, GradientMeasure measured, Action? afterClip = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!double.IsFinite(learningRateMultiplier) || learningRateMultiplier < 0)
            throw new ArgumentOutOfRangeException(nameof(learningRateMultiplier), learningRateMultiplier, "must be a finite non-negative number");
        using var scope = NewDisposeScope();
        StepCount++;
        Clip(measured);
        afterClip?.Invoke();
        BeforeUpdate(context);
        using var noGrad = no_grad();
        foreach (var slot in slots)
        {
            var gradient = slot.Parameter.grad;
            if (gradient is null) continue;
            slot.Steps++;
            Update(slot, gradient, Lr * slot.LrRatio * learningRateMultiplier);
        }
        return measured.Total;
    }

    /// <summary>
    /// Moves one parameter: W -= stepSize (u + wd W) with u = <see cref="Direction"/> (wd on decayed
    /// slots only). Runs under no_grad inside the step's dispose scope after slot.Steps was advanced.
    /// An optimizer may override it with an in-place form of the same update (AdamW does).
    /// </summary>
    protected virtual void Update(ParameterSlot slot, Tensor gradient, double stepSize)
    {
        var direction = Direction(slot, gradient, slot.Steps);
        if (direction is null) return;
        if (slot.Decay && WeightDecay > 0) direction = direction.add(slot.Parameter.mul(weightDecayScalar), One);
        using var negativeStep = (-stepSize).ToScalar();
        slot.Parameter.add_(direction, negativeStep);
    }

    /// <summary>
    /// The global norm over all gradients and the joint norm of the clip scope's gradients, from one
    /// fp64 sum of squares per gradient and a single host read.
    /// </summary>
    public GradientMeasure MeasureGradients()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var withGradient = slots.Where(s => s.Parameter.grad is not null).ToList();
        if (withGradient.Count == 0) return new GradientMeasure(0.0, 0.0);
        var squares = stack(withGradient.Select(s => GradientSquares.Sum(s.Parameter.grad!)).ToList());
        var mask = tensor(withGradient.Select(s => s.Clipped ? 1.0 : 0.0).ToArray(), ScalarType.Float64, squares.device);
        var both = stack([squares.sum(), (squares * mask).sum()]).sqrt().cpu().data<double>();
        return new GradientMeasure(both[0], both[1]);
    }

    /// <summary>Clips the slots in the clip scope by max / (norm_scope + 1e-6) when their joint norm
    /// exceeds the maximum (as torch's clip_grad_norm_).</summary>
    private void Clip(GradientMeasure measured)
    {
        if (ClipGradNorm is not { } max || !(measured.ClipScope > max)) return;
        var factor = max / (measured.ClipScope + 1e-6);
        if (!(factor < 1)) return;
        using var noGrad = no_grad();
        using var scale = factor.ToScalar();
        foreach (var slot in slots)
            if (slot.Clipped && slot.Parameter.grad is { } gradient) gradient.mul_(scale);
    }

    public void ZeroGrad()
    {
        using var scope = NewDisposeScope(); // each .grad read makes a tensor handle
        foreach (var slot in slots)
        {
            var gradient = slot.Parameter.grad;
            if (gradient is null) continue;
            gradient.detach_();
            gradient.zero_();
        }
    }

    /// <summary>
    /// Drops every gradient (torch's zero_grad(set_to_none=True)): the next backward stores its
    /// gradients instead of adding them into zeros, which saves a zeroing pass and an addition pass.
    /// Follow the backward passes with <see cref="ZeroMissingGradients"/> to get the state that
    /// <see cref="ZeroGrad"/> and the same backward passes give.
    /// </summary>
    public void ReleaseGradients()
    {
        hadGradient ??= new bool[slots.Count];
        for (var i = 0; i < slots.Count; i++)
        {
            using var gradient = slots[i].Parameter.grad;
            hadGradient[i] = gradient is not null;
            if (gradient is not null) slots[i].Parameter.grad = null;
        }
    }

    /// <summary>Gives a zero gradient to every parameter that had one before <see cref="ReleaseGradients"/>
    /// and that the backward passes did not reach, which is what zeroing would have left it (so it still
    /// steps: decay, momentum). A parameter that never had a gradient keeps none, as after ZeroGrad.</summary>
    public void ZeroMissingGradients()
    {
        if (hadGradient is null) return;
        using var noGrad = no_grad();
        for (var i = 0; i < slots.Count; i++)
        {
            if (!hadGradient[i]) continue;
            using var gradient = slots[i].Parameter.grad;
            if (gradient is null) slots[i].Parameter.grad = zeros_like(slots[i].Parameter).DetachFromDisposeScope();
        }
    }

    private bool[]? hadGradient;

    private const string Magic = "ModelDsl.Optimizer.v1";

    public void SaveState(BinaryWriter writer)
    {
        writer.Write(Magic);
        writer.Write(GetType().Name);
        writer.Write(StepCount);
        writer.Write(slots.Count);
        foreach (var slot in slots)
        {
            writer.Write(slot.Name);
            writer.Write(slot.Steps);
            writer.Write(slot.State.Count);
            foreach (var (key, value) in slot.State.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                writer.Write(key);
                TensorStateIO.Write(writer, value);
            }
        }
    }

    public void LoadState(BinaryReader reader)
    {
        if (reader.ReadString() != Magic) throw new InvalidDataException("not optimizer state written by this version");
        var kind = reader.ReadString();
        if (kind != GetType().Name) throw new InvalidDataException($"the state was written by {kind}, not {GetType().Name}");
        var stepCount = reader.ReadInt64();
        var count = reader.ReadInt32();
        if (count != slots.Count) throw new InvalidDataException($"the state holds {count} parameters, the optimizer {slots.Count}");
        foreach (var slot in slots)
        {
            var name = reader.ReadString();
            if (name != slot.Name) throw new InvalidDataException($"the state holds parameter '{name}' where '{slot.Name}' was expected");
            slot.Steps = reader.ReadInt64();
            foreach (var old in slot.State.Values) old.Dispose();
            slot.State.Clear();
            var states = reader.ReadInt32();
            for (var i = 0; i < states; i++)
            {
                var key = reader.ReadString();
                slot.State[key] = TensorStateIO.Read(reader, slot.Parameter.device).DetachFromDisposeScope();
            }
        }
        StepCount = stepCount;
    }

    public void Dispose()
    {
        foreach (var slot in slots)
        {
            foreach (var tensor in slot.State.Values) tensor.Dispose();
            slot.State.Clear();
        }
        GC.SuppressFinalize(this);
    }
}
