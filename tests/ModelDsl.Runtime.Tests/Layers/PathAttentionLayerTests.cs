using ModelDsl.Core;
using ModelDsl.Core.Generation;
using ModelDsl.Core.Model;
using ModelDsl.Runtime.Compile;
using TorchSharp;
using static TorchSharp.torch;
using ModelDsl.Runtime.Attention;

namespace ModelDsl.Runtime.Tests.Layers;

/// <summary>
/// The PaTH attention layer: decoding through <see cref="PathCache"/> (prefill, then chunks or single
/// tokens) equals a full recompute; captured probabilities are the ones the fast path uses; the
/// spec compiles and validates with clear messages.
/// </summary>
public class PathAttentionLayerTests
{
    private static ModelSpec PathModel(PathPosition position, int maxSequenceLength = 24) =>
        ModelSpec.Llama(vocab: 13, width: 16, depth: 2, heads: 4, kvHeads: 2) with
        {
            MaxSequenceLength = maxSequenceLength,
            Blocks = ValueList.Repeat(new BlockSpec { Attention = new AttentionSpec { Heads = 4, KvHeads = 2, Position = position } }, 2),
        };

    public static TheoryData<bool, int?, int, int[]> Chunkings => new()
    {
        // forget gate, low rank, short-convolution kernel, chunks
        { true, 32, 3, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1] },
        { true, 32, 3, [5, 1, 3, 1, 2] },
        { false, null, 0, [4, 1, 1, 6] },
        { false, 8, 1, [2, 2, 2, 2, 2, 2] },
    };

    [Theory]
    [MemberData(nameof(Chunkings))]
    public void CachedDecodingEqualsTheFullForward(bool forgetGate, int? lowRank, int kernel, int[] chunks)
    {
        using var scope = NewDisposeScope();
        var spec = PathModel(new PathPosition { ForgetGate = forgetGate, LowRank = lowRank, ShortConvKernel = kernel });
        using var model = ModelCompiler.Build(spec, ScalarType.Float64, seed: 1);
        var length = chunks.Sum();
        var tokens = torch.randint(0, spec.Vocab, [2, length], dtype: ScalarType.Int64, generator: new torch.Generator(2, torch.CPU));
        var full = model.forward(tokens);

        using var cache = model.NewCache(batch: 2, capacity: length);
        var pieces = new List<Tensor>();
        var start = 0;
        foreach (var chunk in chunks)
        {
            pieces.Add(model.Forward(tokens.narrow(1, start, chunk), cache));
            start += chunk;
        }
        Assert.True(GradientCheck.MaxAbsDifference(full, torch.cat(pieces, 1)) < 1e-10);
    }

    [Fact]
    public void LayerDecodingAcrossManyBlocksEqualsTheBlockwiseForward()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(4);
        using var attention = new CausalSelfAttention(12, new PathAttentionCore(12, 3, 1, 4, lowRank: 5, convolutionKernel: 3,
            useForgetGate: true, ScalarType.Float64, blockSize: 4), bias: false, qkNormEps: null, ScalarType.Float64);
        var x = torch.randn([2, 19, 12], dtype: ScalarType.Float64);
        var full = attention.forward(x);   // five blocks of four, the last partial
        using var cache = attention.NewCache(2, 19);
        var prefill = attention.Forward(x.narrow(1, 0, 7), cache, 0);
        var rest = Enumerable.Range(7, 12).Select(t => attention.Forward(x.narrow(1, t, 1), cache, t));
        Assert.True(GradientCheck.MaxAbsDifference(full, torch.cat([prefill, .. rest], 1)) < 1e-10);
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public void DecodingAfterABlockwisePrefillEqualsDecodingAfterANaivePrefill(bool float64, bool forgetGate)
    {
        using var scope = NewDisposeScope();
        // A 150-token prompt: two whole blocks of 64 and a partial one, so the carried keys cross blocks.
        const int prompt = 150, steps = 6;
        var spec = PathModel(new PathPosition { ForgetGate = forgetGate, LowRank = 8, ShortConvKernel = 3 }, maxSequenceLength: prompt + steps);
        var dtype = float64 ? ScalarType.Float64 : ScalarType.Float32;
        using var model = ModelCompiler.Build(spec, dtype, seed: 6);
        var tokens = torch.randint(0, spec.Vocab, [2, prompt + steps], dtype: ScalarType.Int64, generator: new torch.Generator(8, torch.CPU));
        var cores = model.modules().OfType<PathAttentionCore>().Distinct().ToList();
        Assert.Equal(2, cores.Count);

        Tensor Decode(bool blockwise)
        {
            foreach (var core in cores) core.BlockwisePrefill = blockwise;
            using var cache = model.NewCache(batch: 2, capacity: prompt + steps);
            using var noGrad = torch.no_grad();
            var logits = new List<Tensor> { model.Forward(tokens.narrow(1, 0, prompt), cache).narrow(1, prompt - 1, 1) };
            for (var t = prompt; t < prompt + steps; t++)
                logits.Add(model.Forward(tokens.narrow(1, t, 1), cache));
            return torch.cat(logits, 1).to(ScalarType.Float64);
        }
        var naive = Decode(blockwise: false);
        var blockwise = Decode(blockwise: true);
        foreach (var core in cores) core.BlockwisePrefill = true;
        var difference = GradientCheck.MaxAbsDifference(naive, blockwise);
        Assert.True(difference < (float64 ? 1e-10 : 1e-5), $"decoding logits differ by {difference:G3}");
        // And both equal the full forward over prompt and steps.
        using var noGradFull = torch.no_grad();
        var full = model.forward(tokens).narrow(1, prompt - 1, steps + 1).to(ScalarType.Float64);
        Assert.True(GradientCheck.MaxAbsDifference(full, blockwise) < (float64 ? 1e-10 : 1e-4));
    }

    [Fact]
    public void GreedyGenerationWithTheCacheEqualsRecomputation()
    {
        using var scope = NewDisposeScope();
        var spec = PathModel(new PathPosition { ForgetGate = true });
        using var model = ModelCompiler.Build(spec, ScalarType.Float64, seed: 3);
        var prompts = torch.randint(0, spec.Vocab, [3, 4], dtype: ScalarType.Int64, generator: new torch.Generator(5, torch.CPU));
        var greedy = new SamplingSpec { Temperature = 0 };
        var cached = ModelDsl.Runtime.Generation.Generator.Generate(model, prompts, 12, greedy, useCache: true);
        var recomputed = ModelDsl.Runtime.Generation.Generator.Generate(model, prompts, 12, greedy, useCache: false);
        Assert.True(cached.eq(recomputed).all().item<bool>());
    }

    [Fact]
    public void CapturedProbabilitiesGiveTheFastPathsOutput()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(6);
        using var attention = new CausalSelfAttention(8, new PathAttentionCore(8, 2, 2, 4, lowRank: 4, convolutionKernel: 3,
            useForgetGate: true, ScalarType.Float64, blockSize: 3), bias: false, qkNormEps: null, ScalarType.Float64);
        var x = torch.randn([1, 10, 8], dtype: ScalarType.Float64);
        var fast = attention.forward(x);
        Tensor? captured = null;
        attention.AttentionCapture = p => captured = p.detach().clone();
        var explicitOutput = attention.forward(x);
        Assert.NotNull(captured);
        Assert.Equal([1L, 2, 10, 10], captured.shape);
        Assert.True(GradientCheck.MaxAbsDifference(captured.sum(-1), torch.ones(1, 2, 10, dtype: ScalarType.Float64)) < 1e-12);
        Assert.Equal(0.0, captured.triu(1).abs().max().item<double>());
        Assert.True(GradientCheck.MaxAbsDifference(fast, explicitOutput) < 1e-12);
    }

    [Fact]
    public void EveryPathParameterReceivesAGradient()
    {
        using var scope = NewDisposeScope();
        using var model = ModelCompiler.Build(PathModel(new PathPosition { ForgetGate = true }), ScalarType.Float32, seed: 2);
        var tokens = torch.randint(0, 13, [2, 20], dtype: ScalarType.Int64, generator: new torch.Generator(1, torch.CPU));
        model.forward(tokens).square().mean().backward();
        var pathParameters = model.NamedParameters().Where(p => p.Name.Contains(".core.")).ToList();
        // Per block: directionDown, directionUp, convolution, strength weight and bias, forget-gate weight and bias.
        Assert.Equal(2 * 7, pathParameters.Count);
        foreach (var p in pathParameters)
            Assert.True(p.Parameter.grad is { } g && g.abs().max().item<float>() > 0, $"{p.Name} got no gradient");
        Assert.Contains("PaTH", model.Blocks[0].Attention.Kind);
    }

    public static TheoryData<PathPosition, string, string> BadPositions => new()
    {
        { new PathPosition { LowRank = 0 }, "model.blocks[0].attention.position.lowRank", "0 must be at least 1" },
        { new PathPosition { ShortConvKernel = -2 }, "model.blocks[0].attention.position.shortConvKernel", "-2 must be zero or positive" },
    };

    [Theory]
    [MemberData(nameof(BadPositions))]
    public void BadPathSpecsAreRejectedWithPathAndRule(PathPosition position, string path, string message)
    {
        var errors = PathModel(position).Validate();
        // Both blocks share the position, so each reports it at its own path.
        Assert.Equal(2, errors.Count);
        var error = Assert.Single(errors, e => e.Path == path);
        Assert.Contains(message, error.Message);
        Assert.Equal(path.Replace("blocks[0]", "blocks[1]"), errors[1].Path);
    }
}
