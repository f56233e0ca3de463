using ModelDsl.Core.Model;
using ModelDsl.Runtime.Compile;
using ModelDsl.Runtime.Optim;
using static ModelDsl.Runtime.Tests.Optim.OptimTestSupport;
using static TorchSharp.torch;
using ModelDsl.Runtime.Parameters;

namespace ModelDsl.Runtime.Tests.Optim;

/// <summary>
/// Fused projections (qkv, gate/up) are several matrices stored as one: matrix optimizers must
/// update each block as the unfused layer would be updated, not orthogonalise the stack as a whole.
/// </summary>
public sealed class FusedMatrixTests
{
    public static TheoryData<string> MatrixOptimizers => new() { "muon", "scion" };

    private static Core.Training.OptimizerSpec Spec(string name) => name switch
    {
        "muon" => new Core.Training.Muon { Lr = 0.02, WeightDecay = 0.1 },
        _ => new Core.Training.Scion { Lr = 0.02, WeightDecay = 0.1 },
    };

    [Theory]
    [MemberData(nameof(MatrixOptimizers))]
    public void AFusedWeightStepsLikeItsSeparateBlocks(string optimizerName)
    {
        // A [3+2+2, 4] fused weight (q: 3 rows, k and v: 2 rows each) against three separate weights.
        long[] blocks = [3, 2, 2];
        var w0 = Pseudo(7 * 4, 1);
        var fused = new NamedParameter("blocks.0.attention.qkv.weight",
            new TorchSharp.Modules.Parameter(tensor(w0, ScalarType.Float64).reshape(7, 4)), ParameterRole.HiddenMatrix, blocks);
        var separate = new[] { (0, 3), (3, 2), (5, 2) }
            .Select(b => Parameter($"blocks.0.part{b.Item1}", w0.Skip(b.Item1 * 4).Take(b.Item2 * 4).ToArray(), [b.Item2, 4], ParameterRole.HiddenMatrix))
            .ToArray();
        var fusedOptimizer = OptimizerFactory.Create(Spec(optimizerName), [fused], clipGradNorm: null);
        var separateOptimizer = OptimizerFactory.Create(Spec(optimizerName), separate, clipGradNorm: null);
        for (var t = 1; t <= 3; t++)
        {
            var g = Pseudo(7 * 4, 10 + t);
            StepWith(fusedOptimizer, [g]);
            StepWith(separateOptimizer, [g[..12], g[12..20], g[20..]]);
        }
        var expected = separate.SelectMany(p => Values(p.Parameter)).ToArray();
        var actual = Values(fused.Parameter);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) < 1e-12, $"element {i}: separate {expected[i]}, fused {actual[i]}");

        // And it is not the same as treating the stack as one matrix.
        var whole = Parameter("blocks.0.whole", w0, [7, 4], ParameterRole.HiddenMatrix);
        var wholeOptimizer = OptimizerFactory.Create(Spec(optimizerName), [whole], clipGradNorm: null);
        for (var t = 1; t <= 3; t++) StepWith(wholeOptimizer, [Pseudo(7 * 4, 10 + t)]);
        Assert.True(Values(whole.Parameter).Zip(actual).Max(p => Math.Abs(p.First - p.Second)) > 1e-4);
    }

    [Fact]
    public void TheCompiledModelDescribesItsFusedProjections()
    {
        using var model = ModelCompiler.Build(ModelSpec.Llama(vocab: 16, width: 32, depth: 2, heads: 4, kvHeads: 2));
        var byName = model.NamedParameters().ToDictionary(p => p.Name);
        Assert.Equal([4 * 8L, 2 * 8L, 2 * 8L], byName["blocks.1.attention.qkv.weight"].RowBlocks);
        var hidden = DenseFeedForward.DefaultHidden(32, Activation.SwiGlu);
        Assert.Equal([(long)hidden, hidden], byName["blocks.0.feedForward.gateUp.weight"].RowBlocks);
        Assert.Null(byName["blocks.0.attention.output.weight"].RowBlocks);
        foreach (var p in model.NamedParameters().Where(p => p.RowBlocks is not null))
            Assert.Equal(p.Parameter.shape[0], p.RowBlocks!.Sum());
    }
}
