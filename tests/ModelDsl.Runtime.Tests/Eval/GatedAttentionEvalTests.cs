using ModelDsl.Core;
using ModelDsl.Core.Model;
using ModelDsl.Runtime.Compile;
using ModelDsl.Runtime.Eval;
using ModelDsl.Runtime.Tests.Layers;
using TorchSharp;
using static TorchSharp.torch;
using ModelDsl.Runtime.Attention;
using ModelDsl.Runtime.Parameters;

namespace ModelDsl.Runtime.Tests.Eval;

public class GatedAttentionEvalTests
{
    private static ModelSpec Stack(params GateSpec?[] gates) => new()
    {
        Vocab = 11,
        Width = 8,
        MaxSequenceLength = 16,
        TiedHead = false,
        Blocks = ValueList.Of(gates.Select(g => new BlockSpec { Attention = new AttentionSpec { Heads = 2, Position = new NoPosition(), Gate = g } }).ToArray()),
    };

    private static Tensor Tokens(int length = 6) =>
        torch.randint(0, 11, [3, length], dtype: ScalarType.Int64, generator: new torch.Generator(4, torch.CPU));

    [Fact]
    public void SinkMassIsTheMeanProbabilityOnTheFirstKeyLeavingOutTheFirstQuery()
    {
        using var scope = NewDisposeScope();
        // [B = 1, H = 2, T = 3, S = 3]
        var p = torch.tensor(new double[]
        {
            1, 0, 0, 0.25, 0.75, 0, 0.5, 0.25, 0.25,
            1, 0, 0, 1, 0, 0, 0.1, 0.2, 0.7,
        }).view(1, 2, 3, 3);
        Assert.Equal([0.375, 0.55], AttentionSinkMass.PerHead(p), new ToleranceComparer(1e-12));
        // Two queries from position 1 (keys 0..2): both rows count.
        Assert.Equal([(0.25 + 0.5) / 2, (1 + 0.1) / 2], AttentionSinkMass.PerHead(p.narrow(2, 1, 2), queryStart: 1), new ToleranceComparer(1e-12));
        Assert.Throws<ArgumentException>(() => AttentionSinkMass.PerHead(p.narrow(2, 1, 2)));
    }

    [Fact]
    public void UniformAttentionHasSinkMassOneOverTheAttendableCount()
    {
        using var scope = NewDisposeScope();
        using var model = ModelCompiler.Build(Stack(null, new GateSpec()), ScalarType.Float64, seed: 2);
        // Zero query projections: every score is 0 and causal attention is uniform, so query i puts
        // 1/(i+1) on the first token.
        using (torch.no_grad())
            foreach (var p in model.named_parameters().Where(p => p.name.EndsWith("attention.qkv.weight", StringComparison.Ordinal)))
                p.parameter.narrow(0, 0, 8).zero_();
        const int length = 6;
        var expected = Enumerable.Range(1, length - 1).Average(i => 1.0 / (i + 1));
        var masses = AttentionSinkMass.Measure(model, Tokens(length));
        Assert.Equal(2, masses.Length);
        Assert.All(masses, layer => Assert.Equal([expected, expected], layer, new ToleranceComparer(1e-12)));
        Assert.True(model.training, "measuring restores training mode");
    }

    [Fact]
    public void MaximumActivationsAreThoseOfTheResidualStreamAfterEachBlock()
    {
        using var scope = NewDisposeScope();
        using var model = ModelCompiler.Build(Stack(new GateSpec(), null, new GateSpec { Position = GatePosition.G5 }), ScalarType.Float64, seed: 3);
        GradientCheck.Perturb(model);
        var tokens = torch.tensor(new long[] { 1, 2, 3, 4, 2, 1, 5, 6, 7, 3, 2, 1 }, ScalarType.Int64).reshape(2, 6);
        var parameters = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        var original = parameters.ToDictionary(p => p.Key, p => p.Value.detach().clone());
        // With their output projections at zero every block adds nothing: the stream after each block is
        // the embedding of the tokens, so each maximum is the largest |E[t, j]| over the tokens present.
        var silenced = 0;
        using (torch.no_grad())
            foreach (var (name, p) in parameters)
                if (name.EndsWith("attention.output.weight") || name.EndsWith("feedForward.down.weight")) { p.zero_(); silenced++; }
        Assert.Equal(6, silenced);
        var embeddingWeight = model.NamedParameters().Single(p => p.Role == ParameterRole.Embedding).Parameter;
        using (torch.no_grad())
            embeddingWeight[10].fill_(50.0); // a large row of a token that is absent must not count
        var embedding = embeddingWeight.detach().contiguous().data<double>().ToArray();
        var present = tokens.data<long>().Distinct().ToArray();
        var expected = present.SelectMany(t => embedding.Skip((int)t * 8).Take(8)).Max(Math.Abs);
        Assert.Equal([expected, expected, expected], HiddenActivations.MaxAbsPerLayer(model, tokens), new ToleranceComparer(1e-15));

        // Restoring block 1 alone changes the stream from block 1 on; blocks 0 and 2 still add nothing.
        using (torch.no_grad())
            foreach (var (name, p) in parameters)
                if (name.StartsWith("blocks.1.")) p.copy_(original[name]);
        var maxima = HiddenActivations.MaxAbsPerLayer(model, tokens);
        Assert.Equal(expected, maxima[0], 15);
        Assert.True(Math.Abs(maxima[1] - expected) > 1e-6, $"block 1 should change the stream: {maxima[1]} vs {expected}");
        Assert.Equal(maxima[1], maxima[2], 15);
    }

    [Fact]
    public void GateSparsityIsTheMeanAndTheFractionBelowTheThreshold()
    {
        using var scope = NewDisposeScope();
        var summary = GateProbe.Summarise(4, torch.tensor(new[] { 0.05, 0.5, 0.08, 0.9 }));
        Assert.Equal(4, summary.Layer);
        Assert.Equal(0.3825, summary.MeanGate, 12);
        Assert.Equal(0.5, summary.FractionBelow, 12);

        // Zero gate weights: sigmoid(0) = 1/2 everywhere (none below 0.1); SiLU(0) = 0 everywhere (all below).
        var silu = new GateSpec { Position = GatePosition.G5, Activation = GateActivation.Silu, Combination = GateCombination.Additive };
        using var model = ModelCompiler.Build(Stack(new GateSpec(), null, silu), ScalarType.Float64, seed: 5);
        using (torch.no_grad())
            foreach (var p in model.named_parameters().Where(p => p.name.Contains(".gate.")))
                p.parameter.zero_();
        var statistics = GateProbe.Measure(model, Tokens());
        Assert.Equal([0, 2], statistics.Select(s => s.Layer));
        Assert.Equal(0.5, statistics[0].MeanGate, 12);
        Assert.Equal(0.0, statistics[0].FractionBelow, 12);
        Assert.Equal(0.0, statistics[1].MeanGate, 12);
        Assert.Equal(1.0, statistics[1].FractionBelow, 12);
        Assert.All(model.modules().OfType<AttentionGate>(), g => Assert.Null(g.GateCapture));
        Assert.Empty(GateProbe.Measure(ModelCompiler.Build(Stack((GateSpec?)null)), Tokens()));
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;
        public int GetHashCode(double obj) => 0;
    }
}
