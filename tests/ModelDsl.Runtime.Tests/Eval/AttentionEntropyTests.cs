using ModelDsl.Core.Model;
using ModelDsl.Runtime.Compile;
using ModelDsl.Runtime.Eval;
using TorchSharp;
using static TorchSharp.torch;
using ModelDsl.Runtime.Attention;

namespace ModelDsl.Runtime.Tests.Eval;

public class AttentionEntropyTests
{
    // Batch 1, 2 heads, 3 queries from position 0.
    private static Tensor FixedAttention() => tensor(new double[]
    {
        1, 0, 0,   0.5, 0.5, 0,   0.2, 0.3, 0.5,
        1, 0, 0,   1, 0, 0,       1.0 / 3, 1.0 / 3, 1.0 / 3,
    }, [1, 2, 3, 3]);

    [Fact]
    public void NormalisedEntropyEqualsAHandComputation()
    {
        using var scope = NewDisposeScope();
        var mixed = -(0.2 * Math.Log(0.2) + 0.3 * Math.Log(0.3) + 0.5 * Math.Log(0.5)) / Math.Log(3);
        var perRow = AttentionEntropy.PerRow(FixedAttention()).data<double>().ToArray();
        Assert.True(double.IsNaN(perRow[0]) && double.IsNaN(perRow[3]), "a row with one attendable key is excluded");
        Assert.Equal(1.0, perRow[1], 12);   // uniform over 2 keys
        Assert.Equal(mixed, perRow[2], 12);
        Assert.Equal(0.0, perRow[4], 12);   // all mass on one of 2 keys
        Assert.Equal(1.0, perRow[5], 12);   // uniform over 3 keys

        var heads = AttentionEntropy.MeanPerHead(FixedAttention());
        Assert.Equal((1.0 + mixed) / 2, heads[0], 12);
        Assert.Equal(0.5, heads[1], 12);
        var lastRowOnly = AttentionEntropy.MeanPerHead(FixedAttention(), rows: tensor(new float[] { 0, 0, 1 }, [1, 3]));
        Assert.Equal(mixed, lastRowOnly[0], 12);
        Assert.Equal(1.0, lastRowOnly[1], 12);
        var firstRowOnly = AttentionEntropy.MeanPerHead(FixedAttention(), rows: tensor(new float[] { 1, 0, 0 }, [1, 3]));
        Assert.True(double.IsNaN(firstRowOnly[0]));
    }

    [Fact]
    public void QueriesAfterAPrefixNormaliseByTheirAttendableKeys()
    {
        using var scope = NewDisposeScope();
        // One query at position 3 (4 attendable keys) attending uniformly to 2 of them: log 2 / log 4.
        var p = tensor(new double[] { 0.5, 0, 0.5, 0 }, [1, 1, 1, 4]);
        Assert.Equal(0.5, AttentionEntropy.PerRow(p, queryStart: 3).item<double>(), 12);
        Assert.Throws<ArgumentException>(() => AttentionEntropy.PerRow(p, queryStart: 0));
    }

    [Fact]
    public void CapturedProbabilitiesAreCausalAndGiveTheSdpaOutput()
    {
        using var scope = NewDisposeScope();
        using var attention = new CausalSelfAttention(12, 3, 3, 4, false, new RotaryEmbedding(4, 32, 10000, ScalarType.Float64), null, ScalarType.Float64);
        var x = randn([2, 5, 12], dtype: ScalarType.Float64, generator: new Generator(3, CPU));
        var fast = attention.forward(x);
        Tensor? captured = null;
        attention.AttentionCapture = p => captured = p;
        var observed = attention.forward(x);
        attention.AttentionCapture = null;
        Assert.NotNull(captured);
        Assert.Equal([2L, 3, 5, 5], captured!.shape);
        Assert.True(observed.allclose(fast, rtol: 1e-10, atol: 1e-12));
        Assert.True(captured.sum(-1).allclose(ones(2, 3, 5, dtype: ScalarType.Float64)));
        Assert.Equal(0.0, captured.triu(1).abs().max().item<double>());
    }

    [Fact]
    public void ProbeReportsEveryLayerOfACompiledModelAndDetaches()
    {
        using var scope = NewDisposeScope();
        using var model = ModelCompiler.Build(ModelSpec.Llama(vocab: 4, width: 16, depth: 2, heads: 2), ScalarType.Float64, seed: 1);
        var inputs = tensor(new long[] { 0, 1, 1, 0, 2, 1, 0, 0, 1, 1, 2, 0 }, [2, 6]);
        var before = model.forward(inputs);
        var entropies = AttentionProbe.MeanEntropies(model, inputs);
        Assert.Equal(2, entropies.Length);
        Assert.All(entropies, heads => Assert.Equal(2, heads.Length));
        Assert.All(entropies.SelectMany(h => h), e => Assert.InRange(e, 0.0, 1.0 + 1e-12));
        Assert.True(model.modules().OfType<CausalSelfAttention>().All(l => l.AttentionCapture is null));
        Assert.True(model.forward(inputs).allclose(before, rtol: 1e-10, atol: 1e-12));
    }

    [Fact]
    public void ProbeNumbersLayersZeroToDepthInForwardOrder()
    {
        using var scope = NewDisposeScope();
        using var model = ModelCompiler.Build(ModelSpec.Llama(vocab: 4, width: 16, depth: 3, heads: 2), ScalarType.Float64, seed: 1);
        var seen = new List<int>();
        using (var probe = AttentionProbe.Attach(model, (layer, _) => seen.Add(layer)))
        {
            Assert.Equal(3, probe.Layers);
            using var noGrad = no_grad();
            model.forward(tensor(new long[] { 0, 1, 2, 3 }, [1, 4]));
        }
        Assert.Equal([0, 1, 2], seen);
    }
}
