using ModelDsl.Core.Model;
using ModelDsl.Runtime.Attention;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tests.Attention;

/// <summary>
/// Each gate position G1-G4 (arXiv 2505.06708, §2: G1 after SDPA, G2 on values, G3 on keys, G4 on
/// queries) against the layer's formula written out independently on a tiny fixed input, with
/// grouped-query attention so that the KV-head gates (G2, G3) and query-head gates (G1, G4) differ in
/// shape. Each reference also differs from every other position's, so a swapped wiring fails.
/// </summary>
public sealed class GatePlacementTests
{
    private const int Width = 8, Heads = 4, KvHeads = 2, HeadDim = 3, Length = 5;

    private static Tensor Values(long seed, params long[] shape) =>
        randn(shape, ScalarType.Float64, generator: new TorchSharp.torch.Generator((ulong)seed, CPU)) * 0.5;

    /// <summary>softmax(q k^T / sqrt(d) + causal mask) v for one head: q [T, d], k and v [T, d].</summary>
    private static Tensor Head(Tensor q, Tensor k, Tensor v)
    {
        var scores = q.matmul(k.t()) / Math.Sqrt(HeadDim);
        var future = ones([Length, Length], ScalarType.Bool).triu(1);
        return scores.masked_fill(future, double.NegativeInfinity).softmax(-1).matmul(v);
    }

    /// <summary>The gated layer by its formula: x [T, width]; weights as the layer stores them (out x in).</summary>
    private static Tensor Reference(GatePosition position, Tensor x, Tensor qkv, Tensor output, Tensor gateWeight)
    {
        var q = x.matmul(qkv[..(Heads * HeadDim)].t()).view(Length, Heads, HeadDim);
        var k = x.matmul(qkv[(Heads * HeadDim)..((Heads + KvHeads) * HeadDim)].t()).view(Length, KvHeads, HeadDim);
        var v = x.matmul(qkv[((Heads + KvHeads) * HeadDim)..].t()).view(Length, KvHeads, HeadDim);
        var gateHeads = position is GatePosition.G2 or GatePosition.G3 ? KvHeads : Heads;
        var gate = x.matmul(gateWeight.t()).sigmoid().view(Length, gateHeads, HeadDim);
        if (position == GatePosition.G4) q = q * gate;
        if (position == GatePosition.G3) k = k * gate;
        if (position == GatePosition.G2) v = v * gate;
        var heads = new List<Tensor>();
        for (var h = 0; h < Heads; h++)
        {
            var kv = h / (Heads / KvHeads);   // grouped-query attention: consecutive query heads share a KV head
            var o = Head(q.select(1, h), k.select(1, kv), v.select(1, kv));
            if (position == GatePosition.G1) o = o * gate.select(1, h);
            heads.Add(o);
        }
        return cat(heads, 1).matmul(output.t());
    }

    public static TheoryData<GatePosition> Positions => new() { GatePosition.G1, GatePosition.G2, GatePosition.G3, GatePosition.G4 };

    [Theory]
    [MemberData(nameof(Positions))]
    public void EachPositionGatesTheTensorItsFormulaNames(GatePosition position)
    {
        using var scope = NewDisposeScope();
        var core = new DotProductAttentionCore(Heads, KvHeads, HeadDim, rotary: null);
        using var layer = new CausalSelfAttention(Width, core, bias: false, qkNormEps: null, ScalarType.Float64, CPU, new GateSpec { Position = position });
        var parameters = layer.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using (no_grad())
        {
            var seed = 1;
            foreach (var parameter in parameters.Values) parameter.copy_(Values(seed++, parameter.shape));
        }
        var x = Values(99, Length, Width);
        var actual = layer.forward(x.unsqueeze(0)).squeeze(0);

        var (qkv, output, gate) = (parameters["qkv.weight"], parameters["output.weight"], parameters["gate.projection.weight"]);
        var expected = Reference(position, x, qkv, output, gate);
        Assert.True((actual - expected).abs().max().item<double>() < 1e-12, $"{position} does not follow its formula");

        // The input is generic enough that any other placement gives another output.
        foreach (var other in new[] { GatePosition.G1, GatePosition.G2, GatePosition.G3, GatePosition.G4 }.Where(p => p != position))
        {
            var otherHeads = other is GatePosition.G2 or GatePosition.G3 ? KvHeads : Heads;
            if (otherHeads * HeadDim != gate.shape[0]) continue;   // that placement's gate has another shape
            Assert.True((actual - Reference(other, x, qkv, output, gate)).abs().max().item<double>() > 1e-6, $"{position} is indistinguishable from {other}");
        }
    }
}
