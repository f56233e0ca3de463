using ModelDsl.Runtime.Tasks;
using static TorchSharp.torch;
using ModelDsl.Runtime.Moe;

namespace ModelDsl.Runtime.Model;

/// <summary>
/// How a layer (or a statistics collector attached to layers) takes part in a training step. The
/// trainer and the evaluators call these on every participant of a model and know no layer type.
/// Every member has a do-nothing default, so a participant implements only what it needs.
/// </summary>
public interface IStepParticipant
{
    /// <summary>Before the first micro-batch of an optimizer step (global-batch MoE counts start from zero).</summary>
    void BeginStep() { }

    /// <summary>Before each forward pass over a batch, in training and in validation passes that
    /// need it: the batch's padding and domains.</summary>
    void BeforeForward(Batch batch) { }

    /// <summary>After the last forward pass of a step or a validation pass: per-batch state is dropped.</summary>
    void EndForwards() { }

    /// <summary>The reducer that sums per-replica counts over data-parallel replicas (identity in one process).</summary>
    void UseReducer(IExpertLoadReducer reducer) { }
}

/// <summary>The participants inside a model, found once and called in module order.</summary>
public sealed class StepParticipants(IReadOnlyList<IStepParticipant> participants)
{
    public static StepParticipants Of(nn.Module model) =>
        new(model.modules().OfType<IStepParticipant>().Distinct(ReferenceEqualityComparer.Instance).Cast<IStepParticipant>().ToList());

    public IReadOnlyList<IStepParticipant> All => participants;

    public StepParticipants With(IStepParticipant? extra) => extra is null ? this : new([.. participants, extra]);

    public void BeginStep()
    {
        foreach (var p in participants) p.BeginStep();
    }

    public void BeforeForward(Batch batch)
    {
        foreach (var p in participants) p.BeforeForward(batch);
    }

    public void EndForwards()
    {
        foreach (var p in participants) p.EndForwards();
    }

    public void UseReducer(IExpertLoadReducer reducer)
    {
        foreach (var p in participants) p.UseReducer(reducer);
    }
}
