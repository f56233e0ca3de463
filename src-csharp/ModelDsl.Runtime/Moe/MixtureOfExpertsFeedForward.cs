using ModelDsl.Runtime.Tasks;
using ModelDsl.Runtime.Model;
using ModelDsl.Runtime.Compile;
using ModelDsl.Runtime.Parameters;
using ModelDsl.Core.Model;
using ModelDsl.Runtime.Kernels;
using static TorchSharp.torch;
using ModelDsl.Runtime.Layers;
using TorchSharp;
using static ModelDsl.Runtime.Layers.HeldScalars;
using ModelDsl.Runtime.Variants;

namespace ModelDsl.Runtime.Moe;

/// <summary>What one MoE forward routed: expert ids [N, k] of the N routed (non-padding) tokens,
/// which slots were kept (not dropped over capacity), and each routed token's sequence index [N].</summary>
public sealed record RoutingRecord(Tensor Experts, Tensor KeptSlots, long DroppedSlots, Tensor Sequences);

/// <summary>
/// Mixture-of-experts feed-forward (<see cref="MoeFeedForward"/>): router, dropless or capacity-limited
/// dispatch to SwiGLU experts (<see cref="MoeDispatch"/>), optional shared experts, and the auxiliary
/// losses: load balance over the micro-batch or the global batch (arXiv 2501.11873) and router z-loss.
/// </summary>
public sealed class MixtureOfExpertsFeedForward : FeedForwardLayer, IStepParticipant
{
    private readonly MoeRouter router;
    private readonly SwiGluExperts experts;
    private readonly SwiGluFeedForward? shared;
    // Held for the layer's lifetime (see HeldScalars).
    private static readonly Scalar IndexAddAlpha = 1.0;
    private readonly Scalar balanceCoefficient, zLossCoefficient;

    public MixtureOfExpertsFeedForward(MoeFeedForward spec, int width, string label, ScalarType dtype = ScalarType.Float32, Device? device = null)
        : base(nameof(MixtureOfExpertsFeedForward))
    {
        Spec = spec;
        balanceCoefficient = spec.Balance.Coefficient;
        zLossCoefficient = spec.ZLoss;
        Width = width;
        Label = label;
        router = new MoeRouter(width, spec.Experts, spec.TopK, spec.NormalizeTopK, dtype, device);
        experts = new SwiGluExperts(spec.Experts, width, spec.EffectiveExpertHidden(width), dtype, device);
        register_module("router", router);
        register_module("experts", experts);
        if (spec.Shared is { } s)
        {
            // Count shared SwiGLU experts summed are one SwiGLU with Count * Hidden units.
            shared = new SwiGluFeedForward(width, s.Count * s.Hidden, bias: false, dtype, device);
            register_module("shared", shared);
        }
        GlobalCounts = new ExpertLoadCounts(spec.Experts);
    }

    [Implements(typeof(MoeFeedForward))]
    public static FeedForwardLayer Build(MoeFeedForward spec, BuildContext context, string path) =>
        new MixtureOfExpertsFeedForward(spec, context.Model.Width, path, context.Dtype, context.Device);

    public MoeFeedForward Spec { get; }
    public int Width { get; }
    /// <summary>Prefix of this layer's auxiliary-loss names, e.g. "model.blocks[1].feedForward".</summary>
    public string Label { get; }
    public int ExpertCount => Spec.Experts;
    public ExpertWeights ExpertWeights => experts.Weights;
    public MoeRouter Router => router;

    /// <summary>Expert counts of the current optimizer step (global-batch scope); reset by the trainer.</summary>
    public ExpertLoadCounts GlobalCounts { get; }
    /// <summary>Sums the per-micro-batch counts over data-parallel replicas (identity by default).</summary>
    public IExpertLoadReducer LoadReducer { get; set; } = SingleProcessLoadReducer.Instance;
    /// <summary>Called after every forward with the routing (for load and specialisation metrics).</summary>
    public Action<RoutingRecord>? RoutingObserver { get; set; }
    /// <summary>
    /// Padded positions of the batch about to be processed (bool [B, T], true = padding), or null.
    /// Padding is not routed: it takes no expert capacity, does not enter the balance loss, the
    /// z-loss or the routing statistics, and its routed output is zero (it lies outside the loss, and
    /// right-padding never precedes a real token). Set per micro-batch through <see cref="IStepParticipant"/>.
    /// </summary>
    public Tensor? Padding { get; set; }

    void IStepParticipant.BeginStep() => GlobalCounts.Reset();
    void IStepParticipant.BeforeForward(Batch batch) => Padding = batch.Padding;
    void IStepParticipant.EndForwards() => Padding = null;
    void IStepParticipant.UseReducer(IExpertLoadReducer reducer) => LoadReducer = reducer;

    public override Tensor forward(Tensor x) => Forward(x, new AuxiliaryLosses());

    public override Tensor Forward(Tensor x, AuxiliaryLosses losses)
    {
        var shape = x.shape;
        var flat = x.reshape(-1, Width);
        var length = x.dim() == 3 ? shape[1] : 1;
        // Indices of the routed tokens: all of them, or those that are not padding.
        Tensor? routed = null;
        if (Padding is { } padding)
        {
            if (x.dim() != 3 || padding.shape[0] != shape[0] || padding.shape[1] != shape[1])
                throw new ArgumentException($"{Label}: the padding mask [{string.Join(", ", padding.shape)}] does not match the input [{string.Join(", ", shape)}]");
            routed = padding.to(x.device).logical_not().reshape(-1).nonzero().squeeze(1);
        }
        var input = routed is null ? flat : flat.index_select(0, routed);
        var tokens = input.shape[0];
        var routing = router.forward(input);
        long? capacity = Spec.CapacityFactor is { } factor ? MoeDispatch.Capacity(factor, tokens, Spec.TopK, Spec.Experts) : null;
        var dispatched = MoeDispatch.Forward(input, routing.Experts, routing.Weights.to(x.dtype), experts.Weights, capacity);
        var output = routed is null ? dispatched.Output : flat.new_zeros(flat.shape).index_add(0, routed, dispatched.Output, IndexAddAlpha);
        if (shared is not null) output = output.add(shared.forward(flat), One);

        if (tokens > 0)
        {
            if (Spec.Balance.Coefficient > 0) losses.Add($"{Label}.balance", BalanceLoss(routing, tokens).mul(balanceCoefficient));
            if (Spec.ZLoss > 0) losses.Add($"{Label}.zLoss", LoadBalanceLoss.RouterZLoss(routing.Logits).mul(zLossCoefficient));
        }
        if (RoutingObserver is { } observe)
        {
            var positions = routed ?? arange(tokens, dtype: ScalarType.Int64, device: x.device);
            using var sequenceLength = length.ToScalar();
            observe(new RoutingRecord(routing.Experts.detach(), dispatched.KeptSlots, dispatched.DroppedSlots, positions.div(sequenceLength, rounding_mode: RoundingMode.floor)));
        }
        return output.reshape(shape);
    }

    /// <summary>
    /// Micro-batch scope: f from this micro-batch. Global-batch scope while training: f from the
    /// running counts of this optimizer step (see <see cref="ExpertLoadCounts"/>); p is always local.
    /// Outside training (eval, no_grad) nothing is accumulated and f is local.
    /// </summary>
    private Tensor BalanceLoss(Routing routing, long tokens)
    {
        Tensor counts;
        using (no_grad()) counts = routing.Experts.reshape(-1).bincount(null, Spec.Experts).to(ScalarType.Float64);
        var slots = (double)tokens * Spec.TopK;
        var meanProbabilities = routing.Probabilities.mean([0]);
        if (Spec.Balance.Scope == BalanceScope.GlobalBatch && training && is_grad_enabled())
        {
            var replicaSlots = slots;
            var summed = LoadReducer.SumOverReplicas(counts);
            if (!ReferenceEquals(summed, counts))
                replicaSlots = summed.sum().item<double>();
            var running = GlobalCounts.Add(summed, replicaSlots);
            return LoadBalanceLoss.Compute(running, GlobalCounts.Slots, meanProbabilities);
        }
        return LoadBalanceLoss.Compute(counts, slots, meanProbabilities);
    }

    /// <summary>Routed-expert parameters a token does not use: (E - k) / E of the expert stacks.
    /// Matmul FLOP counts per token leave them out.</summary>
    public long InactiveExpertParameters =>
        experts.parameters().Sum(p => p.numel()) * (Spec.Experts - Spec.TopK) / Spec.Experts;

    public override IEnumerable<ParameterFacts> PublishedParameters =>
        [.. router.Under("router"), .. experts.Under("experts"), .. shared.Under("shared")];

    public override string Kind =>
        $"MoE feed-forward ({Spec.Experts} SwiGLU experts of {experts.Hidden}, top-{Spec.TopK}" +
        (Spec.Shared is { } s ? $", {s.Count} shared of {s.Hidden}" : "") +
        (Spec.CapacityFactor is { } c ? $", capacity {c}" : ", dropless") + $", {Spec.Balance.Scope} balance)";
    public override string Shape => $"{Width} -> {Width}";

    protected override void Dispose(bool disposing)
    {
        if (disposing) GlobalCounts.Dispose();
        base.Dispose(disposing);
    }
}
