using TorchSharp;
using static TorchSharp.torch;
using ModelDsl.Runtime.Attention;

namespace ModelDsl.Runtime.Tests.Layers;

public class CausalSelfAttentionTests
{
    private const int Width = 12;

    private static CausalSelfAttention Make(int heads, int kvHeads, bool rope, bool qkNorm = false, bool bias = false, ScalarType dtype = ScalarType.Float64)
    {
        const int headDim = 4;
        var attention = new CausalSelfAttention(Width, heads, kvHeads, headDim, bias,
            rope ? new RotaryEmbedding(headDim, 32, 10000, dtype) : null, qkNorm ? 1e-6 : null, dtype);
        GradientCheck.Perturb(attention);
        return attention;
    }

    private static Tensor Input(int seed, long length = 5) =>
        torch.randn([2, length, Width], dtype: ScalarType.Float64, generator: new torch.Generator((ulong)seed, torch.CPU));

    [Theory]
    [InlineData(3, 3, true, false, false)]
    [InlineData(4, 2, true, true, true)]
    [InlineData(4, 1, false, false, true)]
    public void MapsBatchByLengthByWidthToTheSameShapeWithFusedProjections(int heads, int kvHeads, bool rope, bool qkNorm, bool bias)
    {
        using var scope = NewDisposeScope();
        using var attention = Make(heads, kvHeads, rope, qkNorm, bias);
        Assert.Equal([2L, 5, Width], attention.forward(Input(1)).shape);

        var shapes = attention.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        Assert.Equal([(heads + 2 * kvHeads) * 4L, Width], shapes["qkv.weight"]);
        Assert.Equal([(long)Width, heads * 4L], shapes["output.weight"]);
        Assert.Equal(bias, shapes.ContainsKey("qkv.bias") && shapes.ContainsKey("output.bias"));
        Assert.Equal(qkNorm, shapes.ContainsKey("queryNorm.weight") && shapes.ContainsKey("keyNorm.weight"));
        Assert.Equal(2 + (bias ? 2 : 0) + (qkNorm ? 2 : 0), shapes.Count);   // RoPE adds no parameters
    }

    [Theory]
    [InlineData(3, 3, true, false)]    // RoPE attention
    [InlineData(3, 3, false, false)]   // NoPE attention
    [InlineData(4, 2, true, true)]     // grouped-query attention with QK-norm
    public void GradientsMatchFiniteDifferences(int heads, int kvHeads, bool rope, bool qkNorm)
    {
        using var scope = NewDisposeScope();
        using var attention = Make(heads, kvHeads, rope, qkNorm, bias: true);
        var x = Input(2).requires_grad_();
        var loss = GradientCheck.WeightedSum(() => attention.forward(x), [2, 5, Width]);
        GradientCheck.Check(loss, [("x", x), .. GradientCheck.Parameters(attention)]);
    }

    [Fact]
    public void GroupedQueryAttentionEqualsMultiHeadAttentionWithRepeatedKeyValueHeads()
    {
        using var scope = NewDisposeScope();
        const int heads = 4, kvHeads = 2, headDim = 4;
        using var grouped = Make(heads, kvHeads, rope: true);
        using var full = Make(heads, heads, rope: true);
        // Copy the grouped weights into the multi-head layer, giving query head h the keys and
        // values of KV head h / (heads / kvHeads).
        var groupedQkv = grouped.named_parameters().Single(p => p.name == "qkv.weight").parameter;
        var rows = new List<Tensor> { groupedQkv[..(heads * headDim)] };
        foreach (var offset in new[] { heads * headDim, (heads + kvHeads) * headDim })
            for (var h = 0; h < heads; h++)
            {
                var kvHead = h / (heads / kvHeads);
                rows.Add(groupedQkv[(offset + kvHead * headDim)..(offset + (kvHead + 1) * headDim)]);
            }
        using (torch.no_grad())
        {
            var target = full.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            target["qkv.weight"].copy_(torch.cat(rows, 0));
            target["output.weight"].copy_(grouped.named_parameters().Single(p => p.name == "output.weight").parameter);
        }
        var x = Input(3);
        Assert.True(GradientCheck.MaxAbsDifference(grouped.forward(x), full.forward(x)) < 1e-12);
    }

    [Fact]
    public void OutputsDoNotDependOnLaterTokens()
    {
        using var scope = NewDisposeScope();
        using var attention = Make(4, 2, rope: true);
        var x = Input(4, length: 6);
        var before = attention.forward(x);
        x[.., 4..] = torch.randn([2, 2, Width], dtype: ScalarType.Float64);
        var after = attention.forward(x);
        Assert.True(GradientCheck.MaxAbsDifference(before[.., ..4], after[.., ..4]) < 1e-12);
        Assert.True(GradientCheck.MaxAbsDifference(before[.., 4..], after[.., 4..]) > 1e-3);
    }
}
