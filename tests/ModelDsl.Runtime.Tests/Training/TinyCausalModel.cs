using ModelDsl.Runtime.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tests.Training;

/// <summary>
/// A minimal causal language model for exercising the training loop without the compiled
/// transformer: token embedding, prefix mean over earlier positions (causal), an MLP and a head.
/// </summary>
public sealed class TinyCausalModel : nn.Module<Tensor, Tensor>
{
    private readonly Embedding embedding;
    private readonly Linear hidden;
    private readonly Linear head;

    public TinyCausalModel(int vocab, int width, ScalarType dtype, long seed) : base(nameof(TinyCausalModel))
    {
        manual_seed(seed);
        embedding = nn.Embedding(vocab, width, dtype: dtype);
        hidden = nn.Linear(2 * width, width, dtype: dtype);
        head = nn.Linear(width, vocab, dtype: dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor tokens)
    {
        using var scope = NewDisposeScope();
        var x = embedding.forward(tokens);
        var positions = arange(1, tokens.shape[1] + 1, dtype: x.dtype, device: x.device).reshape(1, -1, 1);
        var prefixMean = x.cumsum(1) / positions;
        var h = nn.functional.gelu(hidden.forward(cat([x, prefixMean], -1)));
        return head.forward(h).MoveToOuterDisposeScope();
    }

    public static TrainableModel Build(ModelDsl.Core.Model.ModelSpec spec, ScalarType dtype, Device device, long seed)
    {
        var model = new TinyCausalModel(spec.Vocab, spec.Width, dtype, seed);
        model.to(device);
        var parameters = model.named_parameters()
            .Select(p => new ModelDsl.Runtime.Parameters.NamedParameter(p.name, p.parameter, p.name.StartsWith("embedding")
                ? ModelDsl.Runtime.Parameters.ParameterRole.Embedding
                : p.parameter.dim() == 2 ? ModelDsl.Runtime.Parameters.ParameterRole.HiddenMatrix : ModelDsl.Runtime.Parameters.ParameterRole.Bias))
            .ToList();
        var count = parameters.Sum(p => p.Parameter.numel());
        return new TrainableModel(model, parameters, count, count - model.embedding.weight!.numel(), (prompts, n) => GreedyGenerate(model, prompts, n));
    }

    /// <summary>Greedy decoding by re-running the whole prefix (no cache needed for tests).</summary>
    public static Tensor GreedyGenerate(nn.Module<Tensor, Tensor> model, Tensor prompts, int newTokens)
    {
        var sequence = prompts.alias();
        for (var i = 0; i < newTokens; i++)
        {
            using var logits = model.forward(sequence);
            var next = logits[.., -1, ..].argmax(-1, keepdim: true);
            sequence = cat([sequence, next], 1);
        }
        return sequence;
    }
}
