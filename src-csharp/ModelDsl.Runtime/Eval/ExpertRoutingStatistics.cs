using ModelDsl.Runtime.Model;
using ModelDsl.Runtime.Layers;
using ModelDsl.Runtime.Tasks;
using static TorchSharp.torch;
using ModelDsl.Runtime.Moe;

namespace ModelDsl.Runtime.Eval;

/// <summary>
/// Counts, per MoE layer, how many token slots of each data domain went to each expert while
/// <see cref="Recording"/> is on (forwards outside it, e.g. generation, are ignored). The caller
/// sets <see cref="CurrentDomains"/> (a batch's Domains, int64 [B]) before each forward; without
/// domains every token counts as domain 0.
/// </summary>
public sealed class ExpertRoutingStatistics : IStepParticipant, IDisposable
{
    private readonly IReadOnlyList<MixtureOfExpertsFeedForward> layers;
    private readonly double[][,] slots;
    private readonly long[] dropped;

    public ExpertRoutingStatistics(IReadOnlyList<MixtureOfExpertsFeedForward> layers, IReadOnlyList<string> domains)
    {
        if (domains.Count < 1) throw new ArgumentException("routing statistics need at least one domain label");
        this.layers = layers;
        Domains = domains;
        slots = layers.Select(l => new double[domains.Count, l.ExpertCount]).ToArray();
        dropped = new long[layers.Count];
        for (var i = 0; i < layers.Count; i++)
        {
            var index = i;
            layers[i].RoutingObserver = record => Observe(index, record);
        }
    }

    /// <summary>Statistics over the model's MoE layers, or null when it has none.</summary>
    public static ExpertRoutingStatistics? For(nn.Module model, ITask task)
    {
        var layers = ModuleSearch.Distinct<MixtureOfExpertsFeedForward>(model);
        return layers.Count == 0 ? null : new ExpertRoutingStatistics(layers, DomainsOf(task));
    }

    /// <summary>A training step's routing is recorded from its first micro-batch to its last.</summary>
    void IStepParticipant.BeginStep()
    {
        Clear();
        Recording = true;
    }

    void IStepParticipant.BeforeForward(Batch batch) => CurrentDomains = batch.Domains;

    void IStepParticipant.EndForwards()
    {
        Recording = false;
        CurrentDomains = null;
    }

    /// <summary>The domain labels of a task: a mixture's components, otherwise one "all".</summary>
    public static IReadOnlyList<string> DomainsOf(ITask task) => task is TaskMixtureTask mixture ? mixture.Domains : ["all"];

    public IReadOnlyList<string> Domains { get; }
    public bool Recording { get; set; }
    public Tensor? CurrentDomains { get; set; }

    public void Clear()
    {
        foreach (var table in slots) Array.Clear(table);
        Array.Clear(dropped);
    }

    public IReadOnlyList<LayerRouting> Snapshot() =>
        layers.Select((l, i) => new LayerRouting(l.Label, (double[,])slots[i].Clone(), dropped[i], Domains)).ToList();

    private void Observe(int layer, RoutingRecord record)
    {
        if (!Recording) return;
        using var scope = NewDisposeScope();
        var experts = record.Experts;
        var expertCount = layers[layer].ExpertCount;
        var tokens = experts.shape[0];
        Tensor tokenDomains;
        if (CurrentDomains is { } domains)
        {
            if (tokens > 0 && record.Sequences.max().item<long>() >= domains.shape[0])
                throw new InvalidOperationException($"routed tokens name sequence {record.Sequences.max().item<long>()}, but the batch has {domains.shape[0]} domain labels");
            tokenDomains = domains.to(experts.device).index_select(0, record.Sequences.to(experts.device));
        }
        else tokenDomains = zeros(tokens, ScalarType.Int64, experts.device);
        var joint = (tokenDomains.unsqueeze(1) * expertCount + experts).reshape(-1)
            .bincount(null, Domains.Count * expertCount).cpu().data<long>().ToArray();
        var table = slots[layer];
        for (var d = 0; d < Domains.Count; d++)
            for (var e = 0; e < expertCount; e++) table[d, e] += joint[d * expertCount + e];
        dropped[layer] += record.DroppedSlots;
    }

    /// <summary>
    /// Routing of the task's first <paramref name="batches"/> validation batches (no gradients;
    /// mode restored), with their domains.
    /// </summary>
    public IReadOnlyList<LayerRouting> MeasureValidation(nn.Module<Tensor, Tensor> model, ITask task, int batches, int batchSize, Device device)
    {
        var participants = StepParticipants.Of(model);
        using var noGrad = no_grad();
        var wasTraining = model.training;
        model.eval();
        Clear();
        Recording = true;
        try
        {
            for (var i = 0; i < batches; i++)
            {
                using var scope = NewDisposeScope();
                using var batch = task.ValidationBatch(i, batchSize);
                CurrentDomains = batch.Domains;
                participants.BeforeForward(batch);
                model.forward(batch.Inputs.to(device));
            }
            return Snapshot();
        }
        finally
        {
            Recording = false;
            CurrentDomains = null;
            participants.EndForwards();
            if (wasTraining) model.train();
        }
    }

    public void Dispose()
    {
        foreach (var layer in layers) layer.RoutingObserver = null;
    }
}
