using ModelDsl.Runtime.Layers;
using ModelDsl.Core.Model;
using ModelDsl.Runtime.Compile;
using ModelDsl.Runtime.Parameters;
using ModelDsl.Runtime.Kernels;
using TorchSharp;
using TorchSharp.Modules;
using static ModelDsl.Runtime.Layers.HeldScalars;
using static TorchSharp.torch;
using ModelDsl.Runtime.Variants;

namespace ModelDsl.Runtime.Attention;

/// <summary>
/// PaTH position encoding (Yang et al. 2025, arXiv 2505.16381): scores q_i^T H_i ... H_(j+1) k_j
/// with data-dependent transitions H_t = I - beta_t w_t w_t^T made from the normalised block input
/// x_t: w = L2-normalise-per-head(SiLU(causal depthwise conv(W_up W_down x))) and
/// beta = 2 sigmoid(W_beta x + b) in (0, 2), both per key/value head (as the authors' layer does:
/// each key stream has one path of transitions). Optional forget gate (PaTH-FoX):
/// g = logsigmoid(W_g x + b) per query head, adding scale * (G_i - G_j), G = cumsum(g).
/// Training and prefill (the first chunk into a cache) use <see cref="PathAttentionBlockwise"/> /
/// <see cref="PathAttentionPrefill"/>; captured probabilities and later chunks use the token-by-token
/// recurrence of <see cref="PathAttentionNaive"/> (decoding is that recurrence).
/// </summary>
public sealed class PathAttentionCore : AttentionCore
{
    private readonly Linear? directionDown;
    private readonly Linear directionUp;
    private readonly Parameter? convolution; // [KvHeads * D, kernel]: one causal filter per channel
    private readonly Linear strength;
    private readonly Linear? forgetGate;
    private readonly int blockSize;

    /// <param name="lowRank">Inner width of the w projection; null projects width -> KvHeads * D directly.</param>
    /// <param name="convolutionKernel">Short-convolution kernel on w; 0 for none.</param>
    public PathAttentionCore(int width, int heads, int kvHeads, int headDim, int? lowRank, int convolutionKernel, bool useForgetGate,
        ScalarType dtype = ScalarType.Float32, Device? device = null, int blockSize = PathAttentionBlockwise.DefaultBlockSize)
        : base(nameof(PathAttentionCore), heads, kvHeads, headDim)
    {
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width), width, "must be positive");
        if (lowRank is < 1) throw new ArgumentOutOfRangeException(nameof(lowRank), lowRank, "the low rank of the w projection must be at least 1 (or null for full rank)");
        if (convolutionKernel < 0) throw new ArgumentOutOfRangeException(nameof(convolutionKernel), convolutionKernel, "must be zero (no convolution) or positive");
        if (blockSize < 1) throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "must be at least 1");
        LowRank = lowRank;
        ConvolutionKernel = convolutionKernel;
        UsesForgetGate = useForgetGate;
        this.blockSize = blockSize;
        var channels = kvHeads * headDim;

        if (lowRank is { } rank)
        {
            directionDown = nn.Linear(width, rank, hasBias: false, device: device, dtype: dtype);
            directionUp = nn.Linear(rank, channels, hasBias: false, device: device, dtype: dtype);
            register_module("directionDown", directionDown);
        }
        else
            directionUp = nn.Linear(width, channels, hasBias: false, device: device, dtype: dtype);
        register_module("directionUp", directionUp);
        if (convolutionKernel > 0)
        {
            // PyTorch's default for a depthwise Conv1d (fan-in = kernel); model compilation re-initialises it.
            var bound = 1.0 / Math.Sqrt(convolutionKernel);
            convolution = new Parameter(torch.empty([channels, convolutionKernel], dtype: dtype, device: device).uniform_(-bound, bound));
            register_parameter("convolution", convolution);
        }
        strength = nn.Linear(width, kvHeads, hasBias: true, device: device, dtype: dtype);
        register_module("strength", strength);
        if (useForgetGate)
        {
            forgetGate = nn.Linear(width, heads, hasBias: true, device: device, dtype: dtype);
            register_module("forgetGate", forgetGate);
        }
    }

    [Implements(typeof(PathPosition))]
    public static AttentionCore Build(PathPosition path, AttentionSpec attention, BuildContext context) =>
        new PathAttentionCore(context.Model.Width, attention.Heads, attention.EffectiveKvHeads, attention.EffectiveHeadDim(context.Model.Width),
            path.LowRank, path.ShortConvKernel ?? 0, path.ForgetGate, context.Dtype, context.Device);

    /// <summary>The short convolution's filter and the forget gate have roles of their own.</summary>
    public override IEnumerable<ParameterFacts> PublishedParameters =>
    [
        .. convolution is null ? Array.Empty<ParameterFacts>() : [new ParameterFacts("convolution", ParameterRole.ConvolutionFilter)],
        .. forgetGate is null ? Array.Empty<ParameterFacts>() : [new ParameterFacts("forgetGate.weight", ParameterRole.Gate)],
    ];

    /// <summary>Whether the first chunk into a cache runs the blockwise forward (<see cref="PathAttentionPrefill"/>);
    /// false replays the token-by-token recurrence instead (the reference the blockwise prefill is tested against).</summary>
    public bool BlockwisePrefill { get; set; } = true;

    public int? LowRank { get; }
    public int ConvolutionKernel { get; }
    public bool UsesForgetGate { get; }

    private double Scale => 1.0 / Math.Sqrt(HeadDim);
    private static readonly Scalar DirectionEps = 1e-6;

    public override Tensor Attend(Tensor x, Tensor q, Tensor k, Tensor v, LayerCache? cache, long start, Action<Tensor>? capture)
    {
        PathCache? path = null;
        if (cache is not null)
        {
            path = cache as PathCache ?? throw new ArgumentException($"PaTH attention needs a {nameof(PathCache)}, got {cache.GetType().Name}");
            if (start + q.shape[2] > path.Capacity)
                throw new InvalidOperationException($"the PaTH cache holds {path.Capacity} positions; positions {start}..{start + q.shape[2] - 1} do not fit");
        }
        var (w, convolutionTail) = Directions(x, path?.ConvolutionInputs);
        var beta = strength.forward(x).sigmoid().transpose(1, 2).mul(Two);                  // [B, KvHeads, T]
        var logForget = forgetGate is null ? null : nn.functional.logsigmoid(forgetGate.forward(x)).transpose(1, 2); // [B, H, T]

        if (path is null)
        {
            if (capture is null)
                return PathAttentionBlockwise.Forward(q, k, v, w, beta, logForget, Scale, blockSize);
            var probabilities = PathAttentionNaive.Probabilities(q, k, w, beta, logForget, Scale);
            capture(probabilities);
            return PathAttentionNaive.WeightedValues(probabilities, v);
        }

        if (start == 0 && capture is null && BlockwisePrefill)
        {
            // Prefill: the blockwise forward, and the carried keys the recurrence continues from.
            var (output, carriedKeys) = PathAttentionPrefill.Forward(q, k, v, w, beta, logForget, Scale, blockSize);
            path.Store(0, carriedKeys, v, logForget?.cumsum(-1), convolutionTail);
            return output;
        }

        // Decoding (or a chunk after the first): continue the recurrence from the cached keys.
        var (logits, keys) = PathAttentionNaive.TransformedLogits(q, path.Keys(start), k, w, beta);
        var newGateSums = logForget is null ? null : path.GateSumBefore(start)!.add(logForget.cumsum(-1), One);
        var (values, gateSums) = path.Store(start, keys, v, newGateSums, convolutionTail);
        var cachedProbabilities = PathAttentionNaive.ToProbabilities(logits, gateSums, Scale);
        capture?.Invoke(cachedProbabilities);
        return PathAttentionNaive.WeightedValues(cachedProbabilities, values);
    }

    /// <summary>
    /// The transition directions w [B, KvHeads, T, D], unit length per head, and the last kernel-1
    /// convolution inputs (for the cache). previousInputs [B, kernel-1, channels] are the inputs of the
    /// positions just before these (zeros at the sequence start: causal zero padding).
    /// </summary>
    private (Tensor Directions, Tensor? ConvolutionTail) Directions(Tensor x, Tensor? previousInputs)
    {
        var (batch, length) = (x.shape[0], x.shape[1]);
        var projected = directionUp.forward(directionDown is null ? x : directionDown.forward(x)); // [B, T, C]
        Tensor? tail = null;
        if (convolution is not null)
        {
            var kernel = ConvolutionKernel;
            var history = previousInputs ?? projected.new_zeros(batch, kernel - 1, projected.shape[2]);
            var extended = torch.cat([history, projected], 1);                                   // [B, kernel-1+T, C]
            tail = kernel > 1 ? extended.narrow(1, extended.shape[1] - (kernel - 1), kernel - 1) : null;
            // Depthwise cross-correlation: output t sees inputs t-kernel+1 .. t (weight kernel-1 on t itself).
            var convolved = nn.functional.conv1d(extended.transpose(1, 2), convolution.unsqueeze(1), groups: projected.shape[2]);
            projected = nn.functional.silu(convolved).transpose(1, 2);
        }
        var directions = projected.reshape(batch, length, KvHeads, HeadDim);
        // L2 normalisation per head (epsilon inside the root, so a zero vector stays finite).
        directions = directions / directions.Squared().sum(-1, keepdim: true).add(DirectionEps, One).sqrt();
        return (directions.transpose(1, 2), tail);
    }

    public override LayerCache NewCache(long batch, long capacity, ScalarType dtype, Device device) =>
        new PathCache(batch, Heads, KvHeads, capacity, HeadDim, ConvolutionKernel, UsesForgetGate, dtype, device);

    /// <summary>The 12 T H D of softmax attention (PaLM convention) plus, per query and key block pair,
    /// the two extra m x m x D products that carry queries through a key block (q W^T, then times U):
    /// about twice the score work again, so 24 T H D per token in all (an estimate; the UT transforms
    /// are O(T m D) and not counted).</summary>
    public override double NonParameterFlopsPerToken(int sequenceLength) => 24.0 * sequenceLength * Heads * HeadDim;

    public override string Description =>
        $"PaTH (w rank {(LowRank is { } r ? r.ToString() : "full")}, " +
        $"{(ConvolutionKernel > 0 ? $"short conv {ConvolutionKernel}" : "no short conv")}{(UsesForgetGate ? ", forget gate" : "")})";
}
