using ModelDsl.Runtime.Kernels;
using ModelDsl.Runtime.Tests.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tests.Kernels;

/// <summary>
/// PaTH attention kernels: the token-by-token reference against explicit products of d x d
/// Householder-like matrices, and the blockwise algorithm against the reference (outputs and the
/// gradients of every input) and against finite differences. Inputs follow the paper's test
/// setting: w of unit length, beta ~ U(1.5, 2) (strong reflections), random forget-gate logits.
/// </summary>
public class PathAttentionTests
{
    internal sealed record Inputs(Tensor Q, Tensor K, Tensor V, Tensor W, Tensor Beta, Tensor? Gate)
    {
        public IReadOnlyList<(string Name, Tensor Tensor)> Named =>
            new (string, Tensor)[] { ("q", Q), ("k", K), ("v", V), ("w", W), ("beta", Beta) }
                .Concat(Gate is null ? [] : new[] { ("g", Gate) }).ToList();
    }

    internal static Inputs Random(int batch, int heads, int kvHeads, int length, int headDim, bool gate, ScalarType dtype, int seed)
    {
        using var generator = new torch.Generator((ulong)seed, torch.CPU);
        Tensor Leaf(Tensor t) => t.to(dtype).detach().requires_grad_(true);
        var w = torch.randn([batch, kvHeads, length, headDim], dtype: ScalarType.Float64, generator: generator);
        w = w / w.norm(-1, keepdim: true);
        return new Inputs(
            Leaf(torch.randn([batch, heads, length, headDim], dtype: ScalarType.Float64, generator: generator)),
            Leaf(torch.randn([batch, kvHeads, length, headDim], dtype: ScalarType.Float64, generator: generator)),
            Leaf(torch.randn([batch, kvHeads, length, headDim], dtype: ScalarType.Float64, generator: generator)),
            Leaf(w),
            Leaf(1.5 + 0.5 * torch.rand([batch, kvHeads, length], dtype: ScalarType.Float64, generator: generator)),
            gate ? Leaf(nn.functional.logsigmoid(2 + torch.randn([batch, heads, length], dtype: ScalarType.Float64, generator: generator))) : null);
    }

    [Fact]
    public void NaiveEqualsExplicitHouseholderProducts()
    {
        using var scope = NewDisposeScope();
        const int batch = 2, heads = 4, kvHeads = 2, length = 6, headDim = 3;
        var x = Random(batch, heads, kvHeads, length, headDim, gate: true, ScalarType.Float64, seed: 1);
        var scale = 1 / Math.Sqrt(headDim);
        var expected = torch.zeros(batch, heads, length, length, dtype: ScalarType.Float64);
        var identity = torch.eye(headDim, dtype: ScalarType.Float64);
        var gateSums = x.Gate!.cumsum(-1);
        for (var b = 0; b < batch; b++)
            for (var h = 0; h < heads; h++)
            {
                var kv = h / (heads / kvHeads);
                for (var i = 0; i < length; i++)
                {
                    var logits = new double[length];
                    for (var j = 0; j < length; j++)
                    {
                        if (j > i) { logits[j] = double.NegativeInfinity; continue; }
                        // H_i H_(i-1) ... H_(j+1), each H_t = I - beta_t w_t w_t^T as a d x d matrix.
                        var product = identity;
                        for (var t = i; t > j; t--)
                        {
                            var wt = x.W[b, kv, t].unsqueeze(1);
                            product = product.matmul(identity - x.Beta[b, kv, t] * wt.matmul(wt.T));
                        }
                        var score = x.Q[b, h, i].matmul(product).dot(x.K[b, kv, j]).item<double>();
                        logits[j] = scale * (score + gateSums[b, h, i].item<double>() - gateSums[b, h, j].item<double>());
                    }
                    var max = logits.Max();
                    var exps = logits.Select(l => Math.Exp(l - max)).ToArray();
                    for (var j = 0; j < length; j++) expected[b, h, i, j] = exps[j] / exps.Sum();
                }
            }
        using var noGrad = torch.no_grad();
        var probabilities = PathAttentionNaive.Probabilities(x.Q, x.K, x.W, x.Beta, x.Gate, scale);
        Assert.True(GradientCheck.MaxAbsDifference(expected, probabilities) < 1e-12);
        var output = PathAttentionNaive.Forward(x.Q, x.K, x.V, x.W, x.Beta, x.Gate, scale);
        var values = x.V.repeat_interleave(heads / kvHeads, dim: 1);
        Assert.True(GradientCheck.MaxAbsDifference(expected.matmul(values), output) < 1e-12);
    }

    [Fact]
    public void TransitionsChangeTheScoresSoTheComparisonsAreNotVacuous()
    {
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        var x = Random(1, 2, 2, 10, 4, gate: false, ScalarType.Float64, seed: 2);
        var path = PathAttentionNaive.Probabilities(x.Q, x.K, x.W, x.Beta, null, 0.5);
        var plain = PathAttentionNaive.Probabilities(x.Q, x.K, x.W, torch.zeros_like(x.Beta), null, 0.5);
        Assert.True(GradientCheck.MaxAbsDifference(path, plain) > 0.05);
    }

    public static TheoryData<int, int, int, int, bool, bool, PathBackward> BlockwiseCases => new()
    {
        // length, block size, heads, kvHeads, forget gate, float64, backward
        { 37, 8, 4, 2, true, true, PathBackward.Autograd },     // partial last block, grouped-query, gate
        { 37, 8, 4, 2, true, true, PathBackward.Recompute },
        { 48, 16, 2, 2, false, true, PathBackward.Autograd },   // whole blocks
        { 48, 16, 2, 2, false, true, PathBackward.Recompute },
        { 5, 8, 2, 1, true, true, PathBackward.Recompute },      // shorter than one block
        { 13, 1, 2, 2, false, true, PathBackward.Autograd },    // one token per block: every transition is a whole block
        { 13, 1, 2, 2, true, true, PathBackward.Recompute },
        { 50, 7, 3, 1, false, true, PathBackward.Recompute },
        { 100, 32, 2, 1, true, false, PathBackward.Autograd },  // float32
        { 150, 64, 2, 2, false, false, PathBackward.Recompute },
        { 37, 8, 4, 2, true, true, PathBackward.Handwritten },
        { 150, 64, 2, 2, false, false, PathBackward.Handwritten },
    };

    [Theory]
    [MemberData(nameof(BlockwiseCases))]
    public void BlockwiseMatchesNaiveInOutputsAndAllGradients(int length, int blockSize, int heads, int kvHeads, bool gate, bool float64, PathBackward backward)
    {
        using var scope = NewDisposeScope();
        const int headDim = 8;
        var dtype = float64 ? ScalarType.Float64 : ScalarType.Float32;
        // Measured (max |difference| / max(1, max |reference|) over the output and every gradient, each case
        // three times at 1, 2, 3, 4 and 8 threads): identical from run to run and across thread counts,
        // at most 1.14e-15 in float64 and 1.32e-6 in float32 (the 150-token case). The tolerances leave
        // about two orders of magnitude in float64 and a factor 8 in float32.
        var tolerance = float64 ? 1e-13 : 1e-5;
        var fast = Random(2, heads, kvHeads, length, headDim, gate, dtype, seed: length + blockSize);
        // The reference always runs in float64 on the same values.
        var reference = Random(2, heads, kvHeads, length, headDim, gate, ScalarType.Float64, seed: length + blockSize);
        var scale = 1 / Math.Sqrt(headDim);
        using var generator = new torch.Generator(5, torch.CPU);
        var outputWeights = torch.randn([2, heads, length, headDim], dtype: ScalarType.Float64, generator: generator);

        var fastOutput = PathAttentionBlockwise.Forward(fast.Q, fast.K, fast.V, fast.W, fast.Beta, fast.Gate, scale, blockSize, backward);
        var referenceOutput = PathAttentionNaive.Forward(reference.Q, reference.K, reference.V, reference.W, reference.Beta, reference.Gate, scale);
        AssertClose("output", referenceOutput, fastOutput, tolerance);

        (fastOutput * outputWeights.to(dtype)).sum().backward();
        (referenceOutput * outputWeights).sum().backward();
        foreach (var ((name, expected), (_, actual)) in reference.Named.Zip(fast.Named))
        {
            Assert.NotNull(actual.grad);
            AssertClose($"gradient of {name}", expected.grad!, actual.grad!, tolerance);
        }
    }

    [Theory]
    [InlineData(PathBackward.Autograd)]
    [InlineData(PathBackward.Recompute)]
    [InlineData(PathBackward.Handwritten)]
    public void BlockwiseGradientsMatchFiniteDifferences(PathBackward backward)
    {
        using var scope = NewDisposeScope();
        var x = Random(1, 2, 1, 7, 3, gate: true, ScalarType.Float64, seed: 9);
        var loss = GradientCheck.WeightedSum(() => PathAttentionBlockwise.Forward(x.Q, x.K, x.V, x.W, x.Beta, x.Gate, 0.7, blockSize: 3, backward), [1, 2, 7, 3]);
        GradientCheck.Check(loss, x.Named, coordinates: 4);
    }

    [Fact]
    public void MismatchedShapesAreRejectedWithTheTensorNamed()
    {
        using var scope = NewDisposeScope();
        var x = Random(1, 2, 2, 4, 3, gate: false, ScalarType.Float64, seed: 3);
        var error = Assert.Throws<ArgumentException>(() =>
            PathAttentionBlockwise.Forward(x.Q, x.K, x.V, x.W, x.Beta.narrow(2, 0, 3), null, 1.0));
        Assert.Contains("beta must be [1, 2, 4]", error.Message);
        error = Assert.Throws<ArgumentException>(() =>
            PathAttentionNaive.Forward(x.Q, x.K, x.V, x.W, x.Beta, torch.zeros(1, 3, 4, dtype: ScalarType.Float64), 1.0));
        Assert.Contains("forget gate must be [1, 2, 4]", error.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => PathAttentionBlockwise.Forward(x.Q, x.K, x.V, x.W, x.Beta, null, 1.0, blockSize: 0));
    }

    private static void AssertClose(string what, Tensor expected, Tensor actual, double tolerance)
    {
        var reference = expected.detach().to(ScalarType.Float64);
        var difference = GradientCheck.MaxAbsDifference(reference, actual.detach().to(ScalarType.Float64));
        var magnitude = Math.Max(1.0, reference.abs().max().item<double>());
        Assert.True(difference <= tolerance * magnitude, $"{what}: max |difference| {difference:G3} exceeds {tolerance:G3} x {magnitude:G3}");
    }
}
