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
    public void MaximumActivationsReplayTheModelExactly()
    {
        using var scope = NewDisposeScope();
        using var model = ModelCompiler.Build(Stack(new GateSpec(), null, new GateSpec { Position = GatePosition.G5 }), ScalarType.Float64, seed: 3);
        GradientCheck.Perturb(model);
        var tokens = Tokens();
        var maxima = HiddenActivations.MaxAbsPerLayer(model, tokens);
        Assert.Equal(3, maxima.Length);

        // The replayed last hidden state through the model's own final norm and head gives its logits,
        // so the replay is the model's forward; the maxima are those of the replayed states.
        var children = model.named_children().ToDictionary(c => c.name, c => c.module);
        var embedding = model.NamedParameters().Single(p => p.Role == ParameterRole.Embedding).Parameter;
        var h = embedding.index_select(0, tokens.reshape(-1)).view(3, 6, 8);
        for (var i = 0; i < 3; i++)
        {
            h = model.Blocks[i].forward(h);
            Assert.Equal(h.abs().max().item<double>(), maxima[i], 12);
        }
        var logits = ((nn.Module<Tensor, Tensor>)children["head"]).forward(((nn.Module<Tensor, Tensor>)children["finalNorm"]).forward(h));
        Assert.True(GradientCheck.MaxAbsDifference(logits, model.forward(tokens)) < 1e-12);
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
