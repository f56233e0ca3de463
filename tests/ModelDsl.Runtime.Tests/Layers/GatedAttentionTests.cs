using ModelDsl.Core;
using ModelDsl.Core.Model;
using ModelDsl.Runtime.Compile;
using TorchSharp;
using static TorchSharp.torch;
using ModelDsl.Runtime.Attention;
using ModelDsl.Runtime.Parameters;

namespace ModelDsl.Runtime.Tests.Layers;

public class GatedAttentionTests
{
    private const int Width = 12, Heads = 4, KvHeads = 2, HeadDim = 4;

    /// <summary>Every valid (position, granularity, shared) combination: G5 only elementwise per element.</summary>
    public static TheoryData<GatePosition, GateGranularity, bool> Placements()
    {
        var data = new TheoryData<GatePosition, GateGranularity, bool>();
        foreach (var position in new[] { GatePosition.G1, GatePosition.G2, GatePosition.G3, GatePosition.G4 })
            foreach (var granularity in Enum.GetValues<GateGranularity>())
                foreach (var shared in new[] { false, true })
                    data.Add(position, granularity, shared);
        data.Add(GatePosition.G5, GateGranularity.Elementwise, false);
        return data;
    }

    private static CausalSelfAttention Make(GateSpec? gate, bool qkNorm = false, int kvHeads = KvHeads) =>
        new(Width, Heads, kvHeads, HeadDim, bias: false, new RotaryEmbedding(HeadDim, 32, 10000, ScalarType.Float64),
            qkNorm ? 1e-6 : null, ScalarType.Float64, gate: gate);

    private static Tensor Input(int seed, long length = 5) =>
        torch.randn([2, length, Width], dtype: ScalarType.Float64, generator: new torch.Generator((ulong)seed, torch.CPU));

    /// <summary>Closed form of the gate projection's outputs: (1 or gated heads) x (1 or head dim), or width at G5.</summary>
    private static long GateOutputs(GateSpec gate, int kvHeads = KvHeads)
    {
        if (gate.Position == GatePosition.G5) return Width;
        var heads = gate.Position is GatePosition.G2 or GatePosition.G3 ? kvHeads : Heads;
        return (gate.SharedAcrossHeads ? 1 : heads) * (gate.Granularity == GateGranularity.Headwise ? 1 : HeadDim);
    }

    private static void CopyShared(CausalSelfAttention from, CausalSelfAttention to)
    {
        var source = from.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using var noGrad = torch.no_grad();
        foreach (var (name, parameter) in to.named_parameters())
            if (!name.StartsWith("gate.", StringComparison.Ordinal)) parameter.copy_(source[name]);
    }

    [Theory]
    [MemberData(nameof(Placements))]
    public void ShapesAndParameterCountsFollowTheClosedForm(GatePosition position, GateGranularity granularity, bool shared)
    {
        using var scope = NewDisposeScope();
        var spec = new GateSpec { Position = position, Granularity = granularity, SharedAcrossHeads = shared };
        using var attention = Make(spec);
        GradientCheck.Perturb(attention);
        Tensor? captured = null;
        attention.Gate!.GateCapture = g => captured = g;
        Assert.Equal([2L, 5, Width], attention.forward(Input(1)).shape);

        Assert.Equal([GateOutputs(spec), (long)Width], attention.Gate.named_parameters().Single().parameter.shape);
        var ungated = (long)(Heads + 2 * KvHeads) * HeadDim * Width + (long)Heads * HeadDim * Width;
        Assert.Equal(ungated + GateOutputs(spec) * Width, attention.parameters().Sum(p => p.numel()));

        var gatedHeads = position is GatePosition.G2 or GatePosition.G3 ? KvHeads : Heads;
        long[] expected = position == GatePosition.G5
            ? [2, 5, Width]
            : [2, shared ? 1 : gatedHeads, 5, granularity == GateGranularity.Headwise ? 1 : HeadDim];
        Assert.Equal(expected, captured!.shape);
        Assert.True(captured.min().item<double>() > 0 && captured.max().item<double>() < 1, "sigmoid gate values lie in (0, 1)");
    }

    [Theory]
    [MemberData(nameof(Placements))]
    public void AGateSaturatedOpenEqualsTheUngatedLayer(GatePosition position, GateGranularity granularity, bool shared)
    {
        using var scope = NewDisposeScope();
        using var gated = Make(new GateSpec { Position = position, Granularity = granularity, SharedAcrossHeads = shared }, qkNorm: true);
        using var plain = Make(null, qkNorm: true);
        GradientCheck.Perturb(plain);
        CopyShared(plain, gated);
        // Input feature 0 is a constant 1 and the gate reads only it, with weight 100: sigmoid(100)
        // rounds to exactly 1 in float64, so every gate is fully open.
        var x = Input(2);
        using (torch.no_grad())
        {
            x.select(-1, 0).fill_(1.0);
            var weight = gated.Gate!.named_parameters().Single().parameter;
            weight.zero_();
            weight.select(1, 0).fill_(100.0);
        }
        Assert.Equal(0.0, GradientCheck.MaxAbsDifference(gated.forward(x), plain.forward(x)));
    }

    [Theory]
    [MemberData(nameof(Placements))]
    public void AnAdditiveSiluGateWithZeroScoresEqualsTheUngatedLayer(GatePosition position, GateGranularity granularity, bool shared)
    {
        using var scope = NewDisposeScope();
        using var gated = Make(new GateSpec
        {
            Position = position, Granularity = granularity, SharedAcrossHeads = shared,
            Combination = GateCombination.Additive, Activation = GateActivation.Silu,
        });
        using var plain = Make(null);
        GradientCheck.Perturb(plain);
        CopyShared(plain, gated);
        using (torch.no_grad()) gated.Gate!.named_parameters().Single().parameter.zero_();
        var x = Input(3);
        Assert.Equal(0.0, GradientCheck.MaxAbsDifference(gated.forward(x), plain.forward(x)));

        // With nonzero scores the gate does change the output (the equality above is not vacuous).
        GradientCheck.Perturb(gated.Gate!);
        Assert.True(GradientCheck.MaxAbsDifference(gated.forward(x), plain.forward(x)) > 1e-3);
    }

    [Fact]
    public void AMultiplicativeGateComputesYTimesSigmoidOfXWTheta()
    {
        // G5 gates the output directly, so the layer's output is checkable by hand from the ungated one.
        using var scope = NewDisposeScope();
        using var gated = Make(new GateSpec { Position = GatePosition.G5 });
        using var plain = Make(null);
        GradientCheck.Perturb(plain);
        GradientCheck.Perturb(gated);
        CopyShared(plain, gated);
        var x = Input(4);
        var weight = gated.Gate!.named_parameters().Single().parameter;
        var expected = plain.forward(x) * torch.sigmoid(x.matmul(weight.t()));
        Assert.True(GradientCheck.MaxAbsDifference(gated.forward(x), expected) < 1e-12);
    }

    public static TheoryData<GatePosition, GateGranularity, bool, GateActivation, GateCombination> GradientCases => new()
    {
        { GatePosition.G1, GateGranularity.Elementwise, false, GateActivation.Sigmoid, GateCombination.Multiplicative },
        { GatePosition.G2, GateGranularity.Headwise, true, GateActivation.Sigmoid, GateCombination.Multiplicative },
        { GatePosition.G3, GateGranularity.Elementwise, false, GateActivation.Silu, GateCombination.Additive },
        { GatePosition.G4, GateGranularity.Headwise, false, GateActivation.Silu, GateCombination.Multiplicative },
        { GatePosition.G5, GateGranularity.Elementwise, false, GateActivation.Sigmoid, GateCombination.Additive },
    };

    [Theory]
    [MemberData(nameof(GradientCases))]
    public void GradientsMatchFiniteDifferences(GatePosition position, GateGranularity granularity, bool shared,
        GateActivation activation, GateCombination combination)
    {
        using var scope = NewDisposeScope();
        using var attention = Make(new GateSpec
        {
            Position = position, Granularity = granularity, SharedAcrossHeads = shared, Activation = activation, Combination = combination,
        }, qkNorm: true);
        GradientCheck.Perturb(attention);
        var x = Input(5).requires_grad_();
        var loss = GradientCheck.WeightedSum(() => attention.forward(x), [2, 5, Width]);
        GradientCheck.Check(loss, [("x", x), .. GradientCheck.Parameters(attention)]);
    }

    private static ModelSpec GatedModel(GateSpec gate) => new()
    {
        Vocab = 13,
        Width = Width,
        MaxSequenceLength = 16,
        TiedHead = false,
        Blocks = ValueList.Of(
            new BlockSpec { Attention = new AttentionSpec { Heads = Heads, KvHeads = KvHeads, HeadDim = HeadDim, Gate = gate } },
            new BlockSpec { Attention = new AttentionSpec { Heads = 3, KvHeads = 1, Position = new NoPosition(), Gate = gate with { Granularity = GateGranularity.Elementwise, SharedAcrossHeads = false } } }),
    };

    [Theory]
    [InlineData(GatePosition.G1, GateGranularity.Elementwise, false)]
    [InlineData(GatePosition.G2, GateGranularity.Elementwise, false)]
    [InlineData(GatePosition.G2, GateGranularity.Headwise, true)]
    [InlineData(GatePosition.G3, GateGranularity.Elementwise, true)]
    [InlineData(GatePosition.G3, GateGranularity.Headwise, false)]
    [InlineData(GatePosition.G4, GateGranularity.Headwise, false)]
    [InlineData(GatePosition.G5, GateGranularity.Elementwise, false)]
    public void CachedDecodingEqualsTheFullForward(GatePosition position, GateGranularity granularity, bool shared)
    {
        using var scope = NewDisposeScope();
        var spec = GatedModel(new GateSpec { Position = position, Granularity = granularity, SharedAcrossHeads = shared });
        using var model = ModelCompiler.Build(spec, ScalarType.Float64, seed: 1);
        GradientCheck.Perturb(model);
        var tokens = torch.randint(0, spec.Vocab, [2, 9], dtype: ScalarType.Int64, generator: new torch.Generator(2, torch.CPU));
        var full = model.forward(tokens);
        foreach (var chunks in new[] { new[] { 1, 1, 1, 1, 1, 1, 1, 1, 1 }, [4, 2, 3] })
        {
            using var cache = model.NewCache(batch: 2, capacity: 9);
            var start = 0;
            var pieces = new List<Tensor>();
            foreach (var chunk in chunks)
            {
                pieces.Add(model.Forward(tokens.narrow(1, start, chunk), cache));
                start += chunk;
            }
            Assert.True(GradientCheck.MaxAbsDifference(torch.cat(pieces, 1), full) < 1e-10, $"chunks {string.Join(",", chunks)}");
        }
    }

    [Fact]
    public void GateWeightsHaveTheGateRoleAreInitialisedLikeProjectionsAndNamedInTheSummary()
    {
        using var scope = NewDisposeScope();
        var spec = ModelSpec.Llama(vocab: 13, width: 64, depth: 2, heads: 4) with { TiedHead = false };
        spec = spec with { Blocks = ValueList.Of(spec.Blocks.Select(b => b with { Attention = b.Attention with { Gate = new GateSpec() } }).ToArray()) };
        using var model = ModelCompiler.Build(spec, seed: 3);
        var gates = model.NamedParameters().Where(p => p.Name.Contains(".attention.gate.")).ToList();
        Assert.Equal(["blocks.0.attention.gate.projection.weight", "blocks.1.attention.gate.projection.weight"], gates.Select(p => p.Name));
        Assert.All(gates, p => Assert.Equal(ParameterRole.Gate, p.Role));
        Assert.All(gates, p => Assert.Null(p.RowBlocks));
        // Not a residual output: plain N(0, Std) (64 x 64 samples, so the std is within a few percent).
        var std = gates[0].Parameter.std().item<float>();
        Assert.InRange(std, 0.9 * spec.Init.Std, 1.1 * spec.Init.Std);

        var ungated = ModelCompiler.Build(ModelSpec.Llama(vocab: 13, width: 64, depth: 2, heads: 4) with { TiedHead = false });
        Assert.Equal(ungated.ParameterCount + 2L * 64 * 64, model.ParameterCount);
        Assert.Equal(ungated.TrainingFlopsPerToken(16) + 6.0 * 2 * 64 * 64, model.TrainingFlopsPerToken(16));
        Assert.Contains("G1 elementwise sigmoid gate", model.Describe().Single(r => r.Name == "blocks.0.attention").Kind);
    }

    [Theory]
    [InlineData(GateGranularity.Elementwise, false)]
    [InlineData(GateGranularity.Headwise, true)]   // a 1 x width matrix
    public void MuonOrthogonalisesGateWeightsAndTakesAFiniteStep(GateGranularity granularity, bool shared)
    {
        using var scope = NewDisposeScope();
        var spec = ModelSpec.Llama(vocab: 13, width: 16, depth: 1, heads: 2) with { TiedHead = false, MaxSequenceLength = 8 };
        spec = spec with { Blocks = ValueList.Of(spec.Blocks[0] with { Attention = spec.Blocks[0].Attention with { Gate = new GateSpec { Granularity = granularity, SharedAcrossHeads = shared } } }) };
        var model = ModelDsl.Runtime.Training.Trainer.BuildLanguageModel(spec, ScalarType.Float32, CPU, 1);
        using var muon = ModelDsl.Runtime.Optim.OptimizerFactory.Create(new ModelDsl.Core.Training.Muon(), model.Parameters, clipGradNorm: 1.0);
        Assert.Equal("muon", muon.Slots.Single(s => s.Name == "blocks.0.attention.gate.projection.weight").Group);
        var gate = model.Parameters.Single(p => p.Name.EndsWith("gate.projection.weight", StringComparison.Ordinal)).Parameter;
        var before = gate.detach().clone();
        var tokens = torch.randint(0, 13, [2, 8], dtype: ScalarType.Int64, generator: new torch.Generator(1, torch.CPU));
        var logits = model.Module.forward(tokens);
        nn.functional.cross_entropy(logits.view(-1, 13), tokens.view(-1)).backward();
        muon.Step(1.0, ModelDsl.Runtime.Optim.StepContext.None);
        var change = (gate.detach() - before).abs();
        Assert.True(change.max().item<float>() > 0 && change.isfinite().all().item<bool>(), "the gate weights moved by a finite step");
    }

    [Fact]
    public void AGateThatValidationRejectsIsNotBuilt()
    {
        var error = Assert.Throws<ModelDsl.Core.Validation.SpecValidationException>(() =>
            new AttentionGate(new GateSpec { Position = GatePosition.G5, Granularity = GateGranularity.Headwise }, Width, Heads, HeadDim));
        Assert.Contains("gate.granularity", error.Message);
    }
}
