using ModelDsl.Core.Model;
using ModelDsl.Runtime.Compile;
using ModelDsl.Runtime.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tests.Interop;

/// <summary>Tiny Llama-shaped models with every weight drawn at a scale that makes mistakes visible
/// (norm gains away from 1, biases away from 0), from a fixed seed.</summary>
internal static class HfLlamaFixtures
{
    public static ModelSpec Tied() => ModelSpec.Llama(vocab: 11, width: 16, depth: 2, heads: 2) with { MaxSequenceLength = 32 };

    /// <summary>Untied head, grouped-query attention (4 query heads on 2 KV heads), an explicit head
    /// dimension other than width / heads, biases, a non-default hidden size, eps and theta.</summary>
    public static ModelSpec Untied() => ModelSpec.Llama(vocab: 13, width: 16, depth: 2, heads: 4, kvHeads: 2) with
    {
        TiedHead = false,
        MaxSequenceLength = 32,
        FinalNorm = new Core.Model.RmsNorm { Eps = 1e-5 },
        Blocks = Core.ValueList.Repeat(new BlockSpec
        {
            Attention = new AttentionSpec { Heads = 4, KvHeads = 2, HeadDim = 6, Bias = true, Position = new Rope { Theta = 500 } },
            FeedForward = new DenseFeedForward { Hidden = 24, Bias = true },
            Norm = new Core.Model.RmsNorm { Eps = 1e-5 },
        }, 2),
    };

    public static ModelSpec Named(string name) => name switch
    {
        "tied" => Tied(),
        "untied" => Untied(),
        _ => throw new ArgumentException(name),
    };

    public static LanguageModel Random(ModelSpec spec, ScalarType dtype = ScalarType.Float32, ulong seed = 7)
    {
        var model = ModelCompiler.Build(spec, dtype);
        var generator = new torch.Generator(seed);
        using var noGrad = no_grad();
        foreach (var (name, parameter) in model.named_parameters())
        {
            using var scope = NewDisposeScope();
            var noise = randn(parameter.shape, dtype: ScalarType.Float64, generator: generator);
            var value = name.EndsWith("Norm.weight", StringComparison.Ordinal) ? 1 + 0.3 * noise
                : name.EndsWith(".bias", StringComparison.Ordinal) ? 0.2 * noise
                : noise / Math.Sqrt(parameter.shape[^1]);
            parameter.copy_(value);
        }
        return model;
    }

    /// <summary>Same dtype, shape and bytes: bit-identical (unlike ==, which equates -0 and 0).</summary>
    public static bool SameBits(Tensor a, Tensor b) =>
        a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) &&
        Runtime.Interop.TensorBytes.From("a", a).Data.AsSpan().SequenceEqual(Runtime.Interop.TensorBytes.From("b", b).Data);

    public static Tensor Tokens(long vocab) =>
        randint(0, vocab, [2, 9], ScalarType.Int64, generator: new torch.Generator(11));
}
