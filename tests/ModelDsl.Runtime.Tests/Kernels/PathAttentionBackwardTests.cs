using ModelDsl.Runtime.Kernels;
using ModelDsl.Runtime.Tests.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tests.Kernels;

/// <summary>
/// The handwritten PaTH backward (the reverse walk over block pairs) against autograd through the
/// token-by-token reference in float64, against its autograd twin (recomputation), and against
/// finite differences; and the blockwise prefill's carried keys against the recurrence's.
/// </summary>
public class PathAttentionBackwardTests
{
    public static TheoryData<int, int, int, int, bool> Cases => new()
    {
        // length, block size, heads, kvHeads, forget gate
        { 37, 8, 4, 2, true },     // partial last block, grouped-query
        { 37, 8, 4, 2, false },
        { 64, 4, 2, 2, true },     // 16 blocks: two replay groups
        { 101, 3, 2, 1, false },   // 34 blocks, five groups, the last partial; block not a power of two
        { 101, 3, 2, 1, true },
        { 5, 8, 2, 2, true },      // shorter than one block: no pairs at all
        { 13, 1, 2, 2, true },     // one token per block
        { 40, 40, 2, 2, true },    // exactly one block
        { 41, 40, 2, 2, false },   // one block and one token
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void HandwrittenGradientsEqualAutogradThroughTheNaiveKernel(int length, int blockSize, int heads, int kvHeads, bool gate)
    {
        using var scope = NewDisposeScope();
        const int headDim = 6;
        var fast = PathAttentionTests.Random(2, heads, kvHeads, length, headDim, gate, ScalarType.Float64, seed: 3 * length + blockSize);
        var reference = PathAttentionTests.Random(2, heads, kvHeads, length, headDim, gate, ScalarType.Float64, seed: 3 * length + blockSize);
        using var generator = new torch.Generator(17, torch.CPU);
        var outputWeights = torch.randn([2, heads, length, headDim], dtype: ScalarType.Float64, generator: generator);
        var scale = 1 / Math.Sqrt(headDim);

        var fastOutput = PathAttentionBlockwise.Forward(fast.Q, fast.K, fast.V, fast.W, fast.Beta, fast.Gate, scale, blockSize, PathBackward.Handwritten);
        var referenceOutput = PathAttentionNaive.Forward(reference.Q, reference.K, reference.V, reference.W, reference.Beta, reference.Gate, scale);
        AssertClose("output", referenceOutput, fastOutput, 1e-11);
        (fastOutput * outputWeights).sum().backward();
        (referenceOutput * outputWeights).sum().backward();
        foreach (var ((name, expected), (_, actual)) in reference.Named.Zip(fast.Named))
            AssertClose($"gradient of {name}", expected.grad!, actual.grad!, 1e-10);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void HandwrittenEqualsTheRecomputingAutogradTwin(bool gate)
    {
        using var scope = NewDisposeScope();
        const int length = 90, blockSize = 5, heads = 4, kvHeads = 2, headDim = 8;
        var hand = PathAttentionTests.Random(1, heads, kvHeads, length, headDim, gate, ScalarType.Float64, seed: 23);
        var twin = PathAttentionTests.Random(1, heads, kvHeads, length, headDim, gate, ScalarType.Float64, seed: 23);
        using var generator = new torch.Generator(29, torch.CPU);
        var outputWeights = torch.randn([1, heads, length, headDim], dtype: ScalarType.Float64, generator: generator);
        (PathAttentionBlockwise.Forward(hand.Q, hand.K, hand.V, hand.W, hand.Beta, hand.Gate, 0.4, blockSize, PathBackward.Handwritten) * outputWeights).sum().backward();
        (PathAttentionBlockwise.Forward(twin.Q, twin.K, twin.V, twin.W, twin.Beta, twin.Gate, 0.4, blockSize, PathBackward.Recompute) * outputWeights).sum().backward();
        foreach (var ((name, expected), (_, actual)) in twin.Named.Zip(hand.Named))
            AssertClose($"gradient of {name}", expected.grad!, actual.grad!, 1e-12);
    }

    [Fact]
    public void HandwrittenFloat32StaysCloseToTheFloat64Reference()
    {
        using var scope = NewDisposeScope();
        const int length = 130, blockSize = 16, heads = 2, headDim = 16;
        var fast = PathAttentionTests.Random(1, heads, heads, length, headDim, gate: true, ScalarType.Float32, seed: 31);
        var reference = PathAttentionTests.Random(1, heads, heads, length, headDim, gate: true, ScalarType.Float64, seed: 31);
        using var generator = new torch.Generator(37, torch.CPU);
        var outputWeights = torch.randn([1, heads, length, headDim], dtype: ScalarType.Float64, generator: generator);
        (PathAttentionBlockwise.Forward(fast.Q, fast.K, fast.V, fast.W, fast.Beta, fast.Gate, 0.25, blockSize) * outputWeights.to(ScalarType.Float32)).sum().backward();
        (PathAttentionNaive.Forward(reference.Q, reference.K, reference.V, reference.W, reference.Beta, reference.Gate, 0.25) * outputWeights).sum().backward();
        foreach (var ((name, expected), (_, actual)) in reference.Named.Zip(fast.Named))
            AssertClose($"gradient of {name}", expected.grad!, actual.grad!, 1e-4);
    }

    [Theory]
    [InlineData(false, 2)]
    [InlineData(true, 3)]
    public void HandwrittenGradientsMatchFiniteDifferences(bool gate, int blockSize)
    {
        using var scope = NewDisposeScope();
        var x = PathAttentionTests.Random(1, 2, 1, 8, 3, gate, ScalarType.Float64, seed: 41);
        var loss = GradientCheck.WeightedSum(() => PathAttentionBlockwise.Forward(x.Q, x.K, x.V, x.W, x.Beta, x.Gate, 0.8, blockSize, PathBackward.Handwritten), [1, 2, 8, 3]);
        GradientCheck.Check(loss, x.Named, coordinates: 5);
    }

    [Theory]
    [InlineData(37, 8, 4, 2, true)]
    [InlineData(16, 4, 2, 2, false)]
    [InlineData(3, 8, 2, 1, true)]
    public void BlockwisePrefillGivesTheRecurrencesOutputAndCarriedKeys(int length, int blockSize, int heads, int kvHeads, bool gate)
    {
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        var x = PathAttentionTests.Random(2, heads, kvHeads, length, 5, gate, ScalarType.Float64, seed: 43 + length);
        var (output, keys) = PathAttentionPrefill.Forward(x.Q, x.K, x.V, x.W, x.Beta, x.Gate, 0.5, blockSize);
        var noKeys = x.K.new_zeros(2, kvHeads, 0, 5);
        var (_, expectedKeys) = PathAttentionNaive.TransformedLogits(x.Q, noKeys, x.K, x.W, x.Beta);
        AssertClose("carried keys", expectedKeys, keys, 1e-12);
        AssertClose("output", PathAttentionNaive.Forward(x.Q, x.K, x.V, x.W, x.Beta, x.Gate, 0.5), output, 1e-12);
        // The keys really were transformed: the comparison is not between two copies of k.
        Assert.True(GradientCheck.MaxAbsDifference(keys, x.K) > 0.1);
    }

    internal static void AssertClose(string what, Tensor expected, Tensor actual, double tolerance)
    {
        var reference = expected.detach().to(ScalarType.Float64);
        var difference = GradientCheck.MaxAbsDifference(reference, actual.detach().to(ScalarType.Float64));
        var magnitude = Math.Max(1.0, reference.abs().max().item<double>());
        Assert.True(difference <= tolerance * magnitude, $"{what}: max |difference| {difference:G3} exceeds {tolerance:G3} x {magnitude:G3}");
    }
}
