using System.Globalization;
using ModelDsl.Core.Variants;

namespace ModelDsl.Core.Model;

/// <summary>One trainable tensor the compiled model will hold: its module path, shape, and whether it
/// takes part in a matmul (every 2-D matrix inside the blocks; not the embedding, head, norm gains or biases).</summary>
public sealed record ParameterShape(string Name, long[] Shape, bool Matmul)
{
    public long Count => Shape.Aggregate(1L, (a, b) => checked(a * b));
}

/// <summary>One row of the layer table: the module, what it is, its input/output shape and its parameter count.</summary>
public sealed record LayerSummary(string Name, string Kind, string Shape, long Parameters);

/// <summary>
/// What a model spec compiles to, computed from the IR alone (no tensor is allocated): every parameter
/// tensor with the module path and shape the runtime gives it, the layer table, parameter counts and
/// training FLOPs per token. A runtime test holds it equal to the compiled model for every layer kind.
/// Counts use checked arithmetic: a spec too large for 64-bit counts throws <see cref="OverflowException"/>.
/// </summary>
public sealed class ModelInventory
{
    private readonly List<ParameterShape> parameters = [];
    private readonly List<LayerSummary> layers = [];
    private readonly List<double> attentionFlopsPerTokenPerPosition = [];

    private ModelInventory(ModelSpec spec) => Spec = spec;

    public ModelSpec Spec { get; }
    public IReadOnlyList<ParameterShape> Parameters => parameters;
    public IReadOnlyList<LayerSummary> Layers => layers;

    public long ParameterCount => parameters.Aggregate(0L, (sum, p) => checked(sum + p.Count));

    /// <summary>Without the token embedding and an untied head (Kaplan et al. 2020 §2.1).</summary>
    public long NonEmbeddingParameterCount =>
        parameters.Where(p => p.Name is not ("embedding.weight" or "head.weight")).Aggregate(0L, (sum, p) => checked(sum + p.Count));

    /// <summary>Routed-expert parameters a token does not use: (E - k) / E of every mixture's experts.</summary>
    public long InactiveExpertParameters { get; private set; }

    /// <summary>
    /// Training FLOPs per token (forward + backward), PaLM's convention (Chowdhery et al. 2022, appendix B):
    /// 6 per matmul parameter (the head always counts, tied or not; routed experts count k of E) plus the
    /// attention scores and weighted sums per layer (12 T heads headDim; PaTH 24 T heads headDim).
    /// </summary>
    public double TrainingFlopsPerToken(int sequenceLength)
    {
        if (sequenceLength < 1) throw new ArgumentOutOfRangeException(nameof(sequenceLength), sequenceLength, "must be positive");
        var matmul = parameters.Where(p => p.Matmul).Sum(p => (double)p.Count) + (double)Spec.Vocab * Spec.Width - InactiveExpertParameters;
        return 6.0 * matmul + attentionFlopsPerTokenPerPosition.Sum() * sequenceLength;
    }

    /// <summary>The inventory of a valid model spec (throws <see cref="Validation.SpecValidationException"/> otherwise).</summary>
    public static ModelInventory Of(ModelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var errors = spec.Validate();
        if (errors.Count > 0) throw new Validation.SpecValidationException(errors);
        var inventory = new ModelInventory(spec);
        inventory.Build();
        return inventory;
    }

    private void Build()
    {
        long width = Spec.Width, vocab = Spec.Vocab;
        Layer("embedding", "token embedding", $"{vocab} x {width}", [("embedding.weight", [vocab, width], false)]);
        for (var i = 0; i < Spec.Blocks.Count; i++)
        {
            var block = Spec.Blocks[i];
            var prefix = $"blocks.{i}";
            Norm($"{prefix}.attentionNorm", block.Norm);
            Attention($"{prefix}.attention", block.Attention, block.Norm);
            Norm($"{prefix}.feedForwardNorm", block.Norm);
            FeedForward($"{prefix}.feedForward", block.FeedForward);
        }
        Norm("finalNorm", Spec.FinalNorm);
        if (Spec.TiedHead) Layer("head", "output head (tied to the embedding)", $"{width} -> {vocab}", []);
        else Layer("head", "output head", $"{width} -> {vocab}", [("head.weight", [vocab, width], false)]);
    }

    private void Layer(string name, string kind, string shape, IEnumerable<(string Name, long[] Shape, bool Matmul)> tensors)
    {
        long count = 0;
        foreach (var (tensor, shapeOf, matmul) in tensors)
        {
            var p = new ParameterShape(tensor, shapeOf, matmul);
            parameters.Add(p);
            count = checked(count + p.Count);
        }
        layers.Add(new LayerSummary(name, kind, shape, count));
    }

    /// <summary>A linear layer's weight [outputs, inputs] (a matmul) and optional bias [outputs].</summary>
    private static IEnumerable<(string, long[], bool)> Linear(string name, long inputs, long outputs, bool bias) =>
        bias ? [($"{name}.weight", [outputs, inputs], true), ($"{name}.bias", [outputs], false)] : [($"{name}.weight", [outputs, inputs], true)];

    private void Norm(string name, NormSpec norm)
    {
        switch (norm)
        {
            case RmsNorm rms:
                Layer(name, $"RMSNorm (eps {rms.Eps.ToString("G3", CultureInfo.CurrentCulture)})", $"{Spec.Width}", [($"{name}.weight", [Spec.Width], false)]);
                break;
            default:
                throw new NotSupportedException($"{name}: no parameter inventory for norm kind '{VariantRegistry.KindOf(norm)}'");
        }
    }

    private void Attention(string name, AttentionSpec attention, NormSpec blockNorm)
    {
        long width = Spec.Width, heads = attention.Heads, kvHeads = attention.EffectiveKvHeads, headDim = attention.EffectiveHeadDim(Spec.Width);
        var tensors = new List<(string, long[], bool)>();
        tensors.AddRange(Linear($"{name}.qkv", width, checked((heads + 2 * kvHeads) * headDim), attention.Bias));
        tensors.AddRange(Linear($"{name}.output", checked(heads * headDim), width, attention.Bias));
        if (attention.QkNorm)
        {
            tensors.Add(($"{name}.queryNorm.weight", [headDim], false));
            tensors.Add(($"{name}.keyNorm.weight", [headDim], false));
        }
        string core;
        switch (attention.Position)
        {
            case Rope rope:
                core = $"RoPE θ={rope.Theta.ToString("G6", CultureInfo.CurrentCulture)}";
                attentionFlopsPerTokenPerPosition.Add(12.0 * heads * headDim);
                break;
            case NoPosition:
                core = "no position encoding";
                attentionFlopsPerTokenPerPosition.Add(12.0 * heads * headDim);
                break;
            case PathPosition path:
                var channels = checked(kvHeads * headDim);
                var kernel = path.ShortConvKernel ?? 0;
                if (path.LowRank is { } rank)
                {
                    tensors.AddRange(Linear($"{name}.core.directionDown", width, rank, bias: false));
                    tensors.AddRange(Linear($"{name}.core.directionUp", rank, channels, bias: false));
                }
                else tensors.AddRange(Linear($"{name}.core.directionUp", width, channels, bias: false));
                if (kernel > 0) tensors.Add(($"{name}.core.convolution", [channels, kernel], true));
                tensors.AddRange(Linear($"{name}.core.strength", width, kvHeads, bias: true));
                if (path.ForgetGate) tensors.AddRange(Linear($"{name}.core.forgetGate", width, heads, bias: true));
                core = $"PaTH (w rank {(path.LowRank is { } r ? r.ToString(CultureInfo.CurrentCulture) : "full")}, " +
                       $"{(kernel > 0 ? $"short conv {kernel}" : "no short conv")}{(path.ForgetGate ? ", forget gate" : "")})";
                attentionFlopsPerTokenPerPosition.Add(24.0 * heads * headDim);
                break;
            default:
                throw new NotSupportedException($"{name}: no parameter inventory for position kind '{VariantRegistry.KindOf(attention.Position)}'");
        }
        var gateText = "";
        if (attention.Gate is { } gate)
        {
            // G2/G3 gate the KV heads' values/keys, G1/G4 the query heads; G5 the whole output (one score per element).
            var gatedHeads = gate.Position is GatePosition.G2 or GatePosition.G3 ? kvHeads : heads;
            var scoreHeads = gate.SharedAcrossHeads ? 1 : gatedHeads;
            var perHead = gate.Granularity == GateGranularity.Headwise ? 1 : headDim;
            var outputs = gate.Position == GatePosition.G5 ? width : checked(scoreHeads * perHead);
            tensors.Add(($"{name}.gate.projection.weight", [outputs, width], true));
            gateText = $", {gate.Position} {(gate.Granularity == GateGranularity.Elementwise ? "elementwise" : "headwise")}" +
                       $"{(gate.SharedAcrossHeads ? " shared" : "")} {(gate.Activation == GateActivation.Sigmoid ? "sigmoid" : "SiLU")}" +
                       $"{(gate.Combination == GateCombination.Additive ? " additive" : "")} gate";
        }
        var kind = $"attention ({heads} heads{(kvHeads < heads ? $", {kvHeads} KV heads" : "")}, head dim {headDim}, " +
                   $"{core}{(attention.QkNorm ? ", QK-norm" : "")}{gateText})";
        Layer(name, kind, $"{width} -> {width}", tensors);
    }

    private void FeedForward(string name, FeedForwardSpec feedForward)
    {
        long width = Spec.Width;
        switch (feedForward)
        {
            case DenseFeedForward dense when dense.Activation == Activation.SwiGlu:
            {
                long hidden = dense.EffectiveHidden(Spec.Width);
                Layer(name, $"SwiGLU feed-forward (hidden {hidden})", $"{width} -> {width}",
                    [.. Linear($"{name}.gateUp", width, checked(2 * hidden), dense.Bias), .. Linear($"{name}.down", hidden, width, dense.Bias)]);
                break;
            }
            case DenseFeedForward dense:
            {
                long hidden = dense.EffectiveHidden(Spec.Width);
                Layer(name, $"{(dense.Activation == Activation.Gelu ? "GELU" : "ReLU")} feed-forward (hidden {hidden})", $"{width} -> {width}",
                    [.. Linear($"{name}.up", width, hidden, dense.Bias), .. Linear($"{name}.down", hidden, width, dense.Bias)]);
                break;
            }
            case MoeFeedForward moe:
            {
                long experts = moe.Experts, hidden = moe.EffectiveExpertHidden(Spec.Width);
                var tensors = new List<(string, long[], bool)>();
                tensors.AddRange(Linear($"{name}.router.scores", width, experts, bias: false));
                tensors.Add(($"{name}.experts.gateUp", [checked(experts * 2 * hidden), width], true));
                tensors.Add(($"{name}.experts.down", [checked(experts * width), hidden], true));
                if (moe.Shared is { } shared)
                {
                    var sharedHidden = checked((long)shared.Count * shared.Hidden);
                    tensors.AddRange(Linear($"{name}.shared.gateUp", width, checked(2 * sharedHidden), bias: false));
                    tensors.AddRange(Linear($"{name}.shared.down", sharedHidden, width, bias: false));
                }
                var expertParameters = checked(experts * 3 * hidden * width);
                InactiveExpertParameters = checked(InactiveExpertParameters + expertParameters * (experts - moe.TopK) / experts);
                var kind = $"MoE feed-forward ({moe.Experts} SwiGLU experts of {hidden}, top-{moe.TopK}" +
                           (moe.Shared is { } s ? $", {s.Count} shared of {s.Hidden}" : "") +
                           (moe.CapacityFactor is { } c ? $", capacity {c}" : ", dropless") + $", {moe.Balance.Scope} balance)";
                Layer(name, kind, $"{width} -> {width}", tensors);
                break;
            }
            default:
                throw new NotSupportedException($"{name}: no parameter inventory for feed-forward kind '{VariantRegistry.KindOf(feedForward)}'");
        }
    }
}
