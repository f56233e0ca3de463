using ModelDsl.Core;
using ModelDsl.Core.Model;
using ModelDsl.Core.Validation;
using ModelDsl.Runtime.Compile;
using ModelDsl.Runtime.Tests.Layers;
using TorchSharp;
using static TorchSharp.torch;
using ModelDsl.Runtime.Parameters;

namespace ModelDsl.Runtime.Tests.Compile;

public class ModelCompilerTests
{
    private static Tensor Tokens(int vocab, long batch, long length, int seed) =>
        torch.randint(0, vocab, [batch, length], dtype: ScalarType.Int64, generator: new torch.Generator((ulong)seed, torch.CPU));

    /// <summary>Parameter count of a Llama stack with SwiGLU written out by hand.</summary>
    private static long LlamaParameters(long vocab, long width, long depth, long heads, long kvHeads, long headDim, long hidden, bool tied) =>
        vocab * width                                            // embedding
        + depth * (2 * width                                     // two RMSNorm gains
                   + width * (heads + 2 * kvHeads) * headDim     // fused q, k, v
                   + heads * headDim * width                     // attention output
                   + width * 2 * hidden + hidden * width)        // fused gate/up, down
        + width                                                  // final norm
        + (tied ? 0 : vocab * width);                            // untied head

    [Theory]
    [InlineData(4, null, true)]
    [InlineData(4, 2, false)]
    [InlineData(4, 1, true)]
    public void ParameterCountsEqualTheClosedForm(int heads, int? kvHeads, bool tied)
    {
        var spec = ModelSpec.Llama(vocab: 32, width: 16, depth: 3, heads: heads, kvHeads: kvHeads) with { TiedHead = tied };
        using var model = ModelCompiler.Build(spec);
        var hidden = DenseFeedForward.DefaultHidden(16, Activation.SwiGlu);
        Assert.Equal(64, hidden);   // 8/3 * 16 rounded up to a multiple of 64
        var expected = LlamaParameters(32, 16, 3, heads, kvHeads ?? heads, 16 / heads, hidden, tied);
        Assert.Equal(expected, model.ParameterCount);
        Assert.Equal(expected, model.parameters().Sum(p => p.numel()));
        Assert.Equal(expected - 32 * 16 * (tied ? 1 : 2), model.NonEmbeddingParameterCount);
    }

    [Fact]
    public void HeterogeneousStackBuildsEachBlockFromItsOwnSpec()
    {
        using var model = ModelCompiler.Build(TinyModels.Mixed());
        const long width = 12, vocab = 11;
        var ropeBlock = 2 * width + width * 9 * 4 + 9 * 4 + 12 * width + width + 2 * 4      // qkv, out (+ biases), QK-norm gains
                        + width * 2 * 64 + 64 * width;                                     // SwiGLU, default hidden 64
        var nopeBlock = 2 * width + width * 4 * 5 + 2 * 5 * width                          // 2 query + 2x1 KV heads of dim 5
                        + width * 20 + 20 + 20 * width + width;                            // GELU MLP with biases
        Assert.Equal(vocab * width + ropeBlock + nopeBlock + width, model.ParameterCount);

        var names = model.NamedParameters().Select(p => p.Name).ToHashSet();
        Assert.Contains("blocks.0.attention.queryNorm.weight", names);
        Assert.Contains("blocks.1.feedForward.up.weight", names);
        Assert.DoesNotContain("blocks.1.attention.queryNorm.weight", names);
    }

    [Fact]
    public void EveryParameterAppearsOnceWithReadableNameAndRole()
    {
        using var untied = ModelCompiler.Build(TinyModels.GroupedQuery());
        var parameters = untied.NamedParameters();
        Assert.Equal(parameters.Count, parameters.Select(p => p.Name).Distinct().Count());
        Assert.Equal(untied.parameters().Count(), parameters.Count);
        var roles = parameters.ToDictionary(p => p.Name, p => p.Role);
        Assert.Equal(ParameterRole.Embedding, roles["embedding.weight"]);
        Assert.Equal(ParameterRole.Head, roles["head.weight"]);
        Assert.Equal(ParameterRole.HiddenMatrix, roles["blocks.0.attention.qkv.weight"]);
        Assert.Equal(ParameterRole.HiddenMatrix, roles["blocks.1.attention.output.weight"]);
        Assert.Equal(ParameterRole.HiddenMatrix, roles["blocks.1.feedForward.gateUp.weight"]);
        Assert.Equal(ParameterRole.HiddenMatrix, roles["blocks.1.feedForward.down.weight"]);
        Assert.Equal(ParameterRole.Norm, roles["blocks.0.attentionNorm.weight"]);
        Assert.Equal(ParameterRole.Norm, roles["blocks.0.feedForwardNorm.weight"]);
        Assert.Equal(ParameterRole.Norm, roles["finalNorm.weight"]);
        Assert.Equal(2 * 4, roles.Count(r => r.Value == ParameterRole.HiddenMatrix));   // qkv, output, gateUp, down per block
        Assert.DoesNotContain(roles.Keys, n => n.Contains("cos") || n.Contains("sin") || n.Contains("rotary"));

        using var mixed = ModelCompiler.Build(TinyModels.Mixed());
        var mixedRoles = mixed.NamedParameters().ToDictionary(p => p.Name, p => p.Role);
        Assert.DoesNotContain(ParameterRole.Head, mixedRoles.Values);   // the tied head is the embedding
        Assert.Equal(ParameterRole.Bias, mixedRoles["blocks.0.attention.qkv.bias"]);
        Assert.Equal(ParameterRole.Norm, mixedRoles["blocks.0.attention.queryNorm.weight"]);
        Assert.Equal(ParameterRole.Bias, mixedRoles["blocks.1.feedForward.down.bias"]);
        // Every 2-D tensor inside the blocks is a hidden matrix, every 1-D one a norm or a bias.
        foreach (var p in mixed.NamedParameters().Where(p => p.Name.StartsWith("blocks.")))
            Assert.Equal(p.Parameter.dim() == 2, p.Role == ParameterRole.HiddenMatrix);
    }

    [Fact]
    public void ForwardMapsTokensToLogitsInTheModelDtype()
    {
        using var scope = NewDisposeScope();
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.Float64 })
        {
            using var model = ModelCompiler.Build(TinyModels.GroupedQuery(), dtype);
            var logits = model.forward(Tokens(13, 3, 7, seed: 1));
            Assert.Equal([3L, 7, 13], logits.shape);
            Assert.Equal(dtype, logits.dtype);
            Assert.True(logits.isfinite().all().item<bool>());
        }
    }

    [Fact]
    public void LogitsDoNotDependOnLaterTokens()
    {
        using var scope = NewDisposeScope();
        using var model = ModelCompiler.Build(TinyModels.Mixed(), ScalarType.Float64);
        var tokens = Tokens(11, 2, 8, seed: 2);
        var before = model.forward(tokens);
        tokens[.., 5] = (tokens[.., 5] + 1) % 11;
        var after = model.forward(tokens);
        Assert.True(GradientCheck.MaxAbsDifference(before[.., ..5], after[.., ..5]) < 1e-12);
        Assert.True(GradientCheck.MaxAbsDifference(before[.., 5..], after[.., 5..]) > 1e-6);
    }

    [Fact]
    public void InitialisationFollowsTheInitSpec()
    {
        var spec = ModelSpec.Llama(vocab: 128, width: 64, depth: 4, heads: 4) with
        {
            TiedHead = false,
            Init = new InitSpec { Std = 0.02, EmbeddingStd = 0.05, ScaleResidualOutputs = true },
            Blocks = ValueList.Repeat(new BlockSpec { Attention = new AttentionSpec { Heads = 4, Bias = true } }, 4),
        };
        using var model = ModelCompiler.Build(spec, seed: 5);
        var residualStd = 0.02 / Math.Sqrt(2 * 4);
        foreach (var (name, parameter, role, _) in model.NamedParameters())
        {
            var std = parameter.std().item<float>();
            var expected = role switch
            {
                ParameterRole.Embedding => 0.05,
                ParameterRole.Head => 0.02,
                ParameterRole.HiddenMatrix when name.EndsWith("attention.output.weight") || name.EndsWith("feedForward.down.weight") => residualStd,
                ParameterRole.HiddenMatrix => 0.02,
                _ => double.NaN,
            };
            if (role == ParameterRole.Norm) Assert.True(parameter.eq(1).all().item<bool>(), name);
            else if (role == ParameterRole.Bias) Assert.True(parameter.eq(0).all().item<bool>(), name);
            else Assert.True(Math.Abs(std - expected) < 0.06 * expected, $"{name}: std {std}, expected {expected}");
        }
    }

    [Fact]
    public void TheSameSeedGivesTheSameModelAndAnotherSeedAnotherModel()
    {
        using var scope = NewDisposeScope();
        using var a = ModelCompiler.Build(TinyModels.Mixed(), seed: 42);
        using var b = ModelCompiler.Build(TinyModels.Mixed(), seed: 42);
        using var c = ModelCompiler.Build(TinyModels.Mixed(), seed: 43);
        using var wide = ModelCompiler.Build(TinyModels.Mixed(), ScalarType.Float64, seed: 42);
        var pa = a.NamedParameters();
        var pb = b.NamedParameters();
        var pc = c.NamedParameters();
        var pw = wide.NamedParameters();
        for (var i = 0; i < pa.Count; i++)
        {
            Assert.True(GradientCheck.MaxAbsDifference(pa[i].Parameter, pb[i].Parameter) == 0, pa[i].Name);
            Assert.True(GradientCheck.MaxAbsDifference(pa[i].Parameter, pw[i].Parameter) < 1e-8, pa[i].Name);
            if (pa[i].Role is ParameterRole.HiddenMatrix or ParameterRole.Embedding)
                Assert.True(GradientCheck.MaxAbsDifference(pa[i].Parameter, pc[i].Parameter) > 1e-3, pa[i].Name);
        }
    }

    [Fact]
    public void TrainingFlopsFollowThePalmConvention()
    {
        using var model = ModelCompiler.Build(TinyModels.GroupedQuery());
        const long vocab = 13, width = 16, depth = 2, heads = 4, kvHeads = 2, headDim = 4, hidden = 64;
        var matmulParameters = depth * (width * (heads + 2 * kvHeads) * headDim + heads * headDim * width + 3 * width * hidden) + vocab * width;
        foreach (var length in new[] { 1, 32 })
            Assert.Equal(6.0 * matmulParameters + 12.0 * depth * length * heads * headDim, model.TrainingFlopsPerToken(length));

        using var tied = ModelCompiler.Build(TinyModels.Mixed());
        // A tied head still costs a vocab x width matmul.
        var tiedMatmul = tied.NamedParameters().Where(p => p.Role == ParameterRole.HiddenMatrix).Sum(p => p.Parameter.numel()) + 11 * 12;
        Assert.Equal(6.0 * tiedMatmul + 12.0 * 8 * (3 * 4 + 2 * 5), tied.TrainingFlopsPerToken(8));
    }

    [Fact]
    public void DescribeListsEveryLayerAndAccountsForEveryParameter()
    {
        using var model = ModelCompiler.Build(TinyModels.Mixed());
        var rows = model.Describe();
        Assert.Equal(1 + 2 * 4 + 2, rows.Count);
        Assert.Equal(model.ParameterCount, rows.Sum(r => r.Parameters));
        Assert.Equal("blocks.1.attention", rows[6].Name);
        Assert.Contains("2 heads, 1 KV heads, head dim 5, no position encoding", rows[6].Kind);
        Assert.Contains("QK-norm", rows[2].Kind);
        Assert.Contains("tied", rows[^1].Kind);
        Assert.Equal(0, rows[^1].Parameters);
    }

    [Fact]
    public void WholeModelLossGradientsMatchFiniteDifferences()
    {
        using var scope = NewDisposeScope();
        using var model = ModelCompiler.Build(TinyModels.Mixed(), ScalarType.Float64, seed: 3);
        GradientCheck.Perturb(model);
        var tokens = Tokens(11, 2, 6, seed: 4);
        var targets = Tokens(11, 2, 6, seed: 5);
        Tensor Loss() => nn.functional.cross_entropy(model.forward(tokens).reshape(-1, 11), targets.reshape(-1));
        GradientCheck.Check(Loss, model.NamedParameters().Select(p => (p.Name, (Tensor)p.Parameter)).ToArray(), coordinates: 2);
    }

    [Fact]
    public void AnInvalidSpecListsEveryErrorBeforeAllocatingAnything()
    {
        // Built, this would need 2^30 x 2^20 floats: only validation running first lets it fail fast.
        var spec = ModelSpec.Llama(vocab: 1 << 30, width: 1 << 20, depth: 2, heads: 3) with { MaxSequenceLength = 0 };
        var error = Assert.Throws<SpecValidationException>(() => ModelCompiler.Build(spec));
        var paths = error.Errors.Select(e => e.Path).ToHashSet();
        Assert.Superset(new HashSet<string> { "model.blocks[0].attention.heads", "model.blocks[1].attention.heads", "model.maxSequenceLength" }, paths);
    }

    [Fact]
    public void BadTokensAreRejectedWithTheRuleTheyBreak()
    {
        using var scope = NewDisposeScope();
        using var model = ModelCompiler.Build(TinyModels.GroupedQuery(maxSequenceLength: 8));
        // Token ids are checked where they enter (prompts, batches), not inside the forward pass.
        Assert.Contains("vocab = 13", Assert.Throws<ArgumentException>(() =>
            ModelDsl.Runtime.Generation.Generator.Generate(model, torch.full(1, 4, 13L), 1, new ModelDsl.Core.Generation.SamplingSpec { Temperature = 0 })).Message);
        Assert.Contains("batch 0: token ids must lie in [0, vocab = 13), got values from -1 to 2",
            Assert.Throws<ArgumentException>(() => ModelDsl.Runtime.Tasks.TokenRange.Check(torch.tensor(new long[] { 2, -1 }), 13, "batch 0")).Message);
        Assert.Contains("maxSequenceLength 8", Assert.Throws<ArgumentException>(() => model.forward(torch.zeros(1, 9, ScalarType.Int64))).Message);
        Assert.Contains("int64", Assert.Throws<ArgumentException>(() => model.forward(torch.zeros(1, 4))).Message);
    }
}
