using ModelDsl.Core.Model;
using ModelDsl.Runtime.Layers;
using ModelDsl.Runtime.Parameters;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using ModelDsl.Runtime.Moe;

namespace ModelDsl.Runtime.Model;

/// <summary>
/// A decoder-only language model compiled from a <see cref="ModelSpec"/>: token embedding, the
/// blocks, a final norm and the output head (the embedding matrix itself when the head is tied).
/// Built by <see cref="ModelCompiler.Build"/>.
/// </summary>
public sealed class LanguageModel : nn.Module<Tensor, Tensor>, IPublishesParameters
{
    private readonly Embedding embedding;
    private readonly ModuleList<TransformerBlock> blocks;
    private readonly nn.Module<Tensor, Tensor> finalNorm;
    private readonly Linear? head;

    internal LanguageModel(ModelSpec spec, Embedding embedding, IReadOnlyList<TransformerBlock> blocks,
        nn.Module<Tensor, Tensor> finalNorm, Linear? head) : base(nameof(LanguageModel))
    {
        Spec = spec;
        this.embedding = embedding;
        this.blocks = new ModuleList<TransformerBlock>(blocks.ToArray());
        this.finalNorm = finalNorm;
        this.head = head;
        register_module("embedding", embedding);
        register_module("blocks", this.blocks);
        register_module("finalNorm", finalNorm);
        if (head is not null) register_module("head", head);
    }

    public ModelSpec Spec { get; }
    /// <summary>The element type of the weights (read from them, so it follows Module.to).</summary>
    public ScalarType Dtype => embedding.weight!.dtype;
    /// <summary>The device holding the weights.</summary>
    public Device Device => embedding.weight!.device;
    public IReadOnlyList<TransformerBlock> Blocks => blocks.ToList();

    /// <summary>int64 tokens [B, T] -> logits [B, T, vocab] in the model's dtype. Auxiliary losses
    /// (none for dense models) are dropped; training code that needs them calls <see cref="Run"/>.</summary>
    public override Tensor forward(Tensor tokens) => Run(tokens).Logits;

    /// <summary>
    /// Continues the sequences in <paramref name="cache"/> with tokens [B, T] at positions
    /// cache.Length .. cache.Length+T-1, appends their keys and values, and returns the logits of the
    /// new tokens [B, T, vocab]. Inference only: runs without autograd.
    /// </summary>
    public Tensor Forward(Tensor tokens, KvCache cache)
    {
        ArgumentNullException.ThrowIfNull(cache);
        return Run(tokens, cache).Logits;
    }

    /// <summary>The full forward pass: logits and the auxiliary losses the layers added.
    /// With a cache it behaves as <see cref="Forward(Tensor, KvCache)"/>.</summary>
    public ModelOutput Run(Tensor tokens, KvCache? cache = null)
    {
        var start = cache?.Length ?? 0;
        CheckTokens(tokens, start, cache);
        using var noGrad = cache is null ? null : torch.no_grad();
        var losses = new AuxiliaryLosses();
        var x = embedding.forward(tokens);
        for (var i = 0; i < blocks.Count; i++)
            x = blocks[i].Forward(x, cache?.Layer(i), start, losses);
        x = finalNorm.forward(x);
        var logits = head is null ? nn.functional.linear(x, embedding.weight!) : head.forward(x);
        cache?.Advance((int)tokens.shape[1]);
        return new ModelOutput(logits, losses);
    }

    /// <summary>
    /// The forward pass with K prefix embeddings [B, K, width] (e.g. an image's) placed before the
    /// token embeddings: the prefix takes positions start .. start+K-1 and the tokens the K positions
    /// after, the cache (if any) advances by K + T, and the logits returned are those of the tokens
    /// only, [B, T, vocab]. A null prefix is exactly <see cref="Run(Tensor, KvCache?)"/>.
    /// </summary>
    public ModelOutput Run(Tensor tokens, Tensor? prefix, KvCache? cache)
    {
        if (prefix is null) return Run(tokens, cache);
        var start = cache?.Length ?? 0;
        if (prefix.dim() != 3 || prefix.shape[0] != tokens.shape[0] || prefix.shape[1] < 1 || prefix.shape[2] != Spec.Width)
            throw new ArgumentException($"prefix must be [batch = {tokens.shape[0]}, K >= 1, width = {Spec.Width}], got [{string.Join(", ", prefix.shape)}]", nameof(prefix));
        if (prefix.dtype != Dtype)
            throw new ArgumentException($"prefix must have the model's dtype {Dtype}, got {prefix.dtype}", nameof(prefix));
        var prefixLength = (int)prefix.shape[1];
        CheckTokens(tokens, start + prefixLength, cache);
        using var noGrad = cache is null ? null : torch.no_grad();
        var losses = new AuxiliaryLosses();
        var x = torch.cat([prefix, embedding.forward(tokens)], 1);
        for (var i = 0; i < blocks.Count; i++)
            x = blocks[i].Forward(x, cache?.Layer(i), start, losses);
        x = finalNorm.forward(x.narrow(1, prefixLength, tokens.shape[1]));
        var logits = head is null ? nn.functional.linear(x, embedding.weight!) : head.forward(x);
        cache?.Advance(prefixLength + (int)tokens.shape[1]);
        return new ModelOutput(logits, losses);
    }

    /// <summary>An empty KV cache for <paramref name="batch"/> sequences of up to <paramref name="capacity"/> tokens.</summary>
    public KvCache NewCache(int batch, int capacity)
    {
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "a KV cache needs a batch of at least 1");
        if (capacity < 1 || capacity > Spec.MaxSequenceLength)
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, $"KV-cache capacity must lie in [1, maxSequenceLength = {Spec.MaxSequenceLength}]");
        return new KvCache(batch, capacity, blocks.Select(b => b.Attention.NewCache(batch, capacity)).ToArray());
    }

    /// <summary>Every trainable parameter exactly once, in module order, with the role and facts its
    /// layer published: "embedding.weight" is the Embedding (and the head when tied), "head.weight"
    /// the Head; see <see cref="ParameterCatalog"/> for the defaults.</summary>
    public IReadOnlyList<NamedParameter> NamedParameters() => ParameterCatalog.Of(this);

    public IEnumerable<ParameterFacts> PublishedParameters =>
    [
        new("embedding.weight", ParameterRole.Embedding),
        .. head is null ? Array.Empty<ParameterFacts>() : [new ParameterFacts("head.weight", ParameterRole.Head)],
        .. blocks.SelectMany((block, i) => block.Under($"blocks.{i}")),
    ];

    public long ParameterCount => NamedParameters().Sum(p => p.Parameter.numel());

    /// <summary>Parameters without the token embedding and without an untied head (Kaplan et al.
    /// 2020 §2.1 and Chinchilla count "non-embedding" parameters this way: the vocabulary matrices
    /// scale with the vocabulary, not with the model's capacity).</summary>
    public long NonEmbeddingParameterCount =>
        NamedParameters().Where(p => p.Role is not (ParameterRole.Embedding or ParameterRole.Head)).Sum(p => p.Parameter.numel());

    /// <summary>
    /// Training FLOPs per token (forward + backward) for sequences of the given length, PaLM's
    /// convention (Chowdhery et al. 2022, appendix B): 6 FLOPs per parameter that takes part in a
    /// matmul (every hidden matrix and the output head, tied or not; the embedding lookup is free),
    /// plus the attention scores and weighted sums, 12 * T * heads * headDim per layer. Mixture-of-experts
    /// layers count their router, shared experts and k of E routed experts (the parameters a token uses).
    /// </summary>
    public double TrainingFlopsPerToken(int sequenceLength)
    {
        if (sequenceLength < 1) throw new ArgumentOutOfRangeException(nameof(sequenceLength), sequenceLength, "must be positive");
        var matmulParameters = NamedParameters().Where(p => p.Role.Matmul()).Sum(p => p.Parameter.numel())
            + (long)Spec.Vocab * Spec.Width
            - blocks.Sum(b => b.FeedForward is MixtureOfExpertsFeedForward moe ? moe.InactiveExpertParameters : 0);
        return 6.0 * matmulParameters + blocks.Sum(b => b.Attention.NonParameterFlopsPerToken(sequenceLength));
    }

    /// <summary>The model as a table: embedding, each block's parts, final norm, head.</summary>
    public IReadOnlyList<LayerRow> Describe()
    {
        var rows = new List<LayerRow>
        {
            new("embedding", "token embedding", $"{Spec.Vocab} x {Spec.Width}", embedding.weight!.numel()),
        };
        for (var i = 0; i < blocks.Count; i++)
        {
            var block = blocks[i];
            rows.Add(Row($"blocks.{i}.attentionNorm", block.AttentionNorm));
            rows.Add(Row($"blocks.{i}.attention", block.Attention));
            rows.Add(Row($"blocks.{i}.feedForwardNorm", block.FeedForwardNorm));
            rows.Add(Row($"blocks.{i}.feedForward", block.FeedForward));
        }
        rows.Add(Row("finalNorm", finalNorm));
        rows.Add(head is null
            ? new LayerRow("head", "output head (tied to the embedding)", $"{Spec.Width} -> {Spec.Vocab}", 0)
            : new LayerRow("head", "output head", $"{Spec.Width} -> {Spec.Vocab}", head.weight!.numel()));
        return rows;
    }

    private static LayerRow Row(string name, nn.Module module)
    {
        var described = module as IDescribable;
        return new LayerRow(name, described?.Kind ?? module.GetName(), described?.Shape ?? "", module.parameters().Sum(p => p.numel()));
    }

    private void CheckTokens(Tensor tokens, int start, KvCache? cache)
    {
        if (tokens.dtype != ScalarType.Int64 || tokens.dim() != 2)
            throw new ArgumentException($"tokens must be an int64 tensor [batch, length], got {tokens.dtype} [{string.Join(", ", tokens.shape)}]");
        var length = tokens.shape[1];
        if (length < 1 || tokens.shape[0] < 1)
            throw new ArgumentException($"tokens must hold at least one sequence of one token, got [{string.Join(", ", tokens.shape)}]");
        if (start + length > Spec.MaxSequenceLength)
            throw new ArgumentException($"positions {start}..{start + length - 1} exceed the model's maxSequenceLength {Spec.MaxSequenceLength}");
        if (cache is not null)
        {
            if (tokens.shape[0] != cache.Batch)
                throw new ArgumentException($"the KV cache holds {cache.Batch} sequences, got a batch of {tokens.shape[0]}");
            if (start + length > cache.Capacity)
                throw new ArgumentException($"the KV cache holds {cache.Capacity} positions; positions {start}..{start + length - 1} do not fit");
        }
        // Token ids are checked where they enter (TokenRange), so that a forward needs no host synchronisation.
    }
}
