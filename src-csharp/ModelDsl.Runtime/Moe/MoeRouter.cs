using ModelDsl.Runtime.Parameters;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Moe;

/// <summary>
/// Router scores for one forward pass. Logits and Probabilities are [N, E] in float32 (float64 when
/// the model is float64); Experts [N, k] int64; Weights [N, k] the combine weights.
/// </summary>
public sealed record Routing(Tensor Logits, Tensor Probabilities, Tensor Experts, Tensor Weights);

/// <summary>
/// Linear router: logits = W_r x, softmax over ALL experts (needed by the balance loss's p_i), the
/// k largest probabilities choose the experts; with NormalizeTopK they are divided by their sum.
/// Scores are computed in at least float32 (low-precision softmax flips near-tied choices).
/// </summary>
public sealed class MoeRouter : nn.Module<Tensor, Routing>, IPublishesParameters
{
    private readonly Linear scores;

    public MoeRouter(int width, int experts, int topK, bool normalizeTopK, ScalarType dtype, Device? device)
        : base(nameof(MoeRouter))
    {
        if (experts < 1) throw new ArgumentException($"a router needs at least one expert, got {experts}");
        if (topK < 1 || topK > experts) throw new ArgumentException($"top-k {topK} must lie in [1, experts = {experts}]");
        Experts = experts;
        TopK = topK;
        NormalizeTopK = normalizeTopK;
        scores = nn.Linear(width, experts, hasBias: false, device: device, dtype: dtype);
        register_module("scores", scores);
    }

    public int Experts { get; }
    public int TopK { get; }

    public IEnumerable<ParameterFacts> PublishedParameters => [new("scores.weight", ParameterRole.Router)];
    public bool NormalizeTopK { get; }

    /// <summary>Tokens [N, D] -> routing.</summary>
    public override Routing forward(Tensor x)
    {
        var precision = x.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var logits = nn.functional.linear(x.to(precision), scores.weight!.to(precision));
        var probabilities = logits.softmax(-1);
        var (top, experts) = probabilities.topk(TopK, dim: -1);
        var weights = NormalizeTopK ? top / top.sum(-1, keepdim: true) : top;
        return new Routing(logits, probabilities, experts, weights);
    }
}
