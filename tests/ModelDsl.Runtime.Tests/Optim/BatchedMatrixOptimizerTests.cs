using ModelDsl.Core;
using ModelDsl.Core.Model;
using ModelDsl.Runtime.Compile;
using ModelDsl.Runtime.Optim;
using ModelDsl.Runtime.Parameters;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;
using Reference = ModelDsl.Runtime.Tests.Optim.Reference;

namespace ModelDsl.Runtime.Tests.Optim;

/// <summary>
/// The fast matrix optimizers against their per-parameter twins (Optim/Reference: the implementation
/// before batching): batched Newton-Schulz against the per-matrix iteration, blocked triangular
/// products against dense ones, and whole optimizers stepped side by side from the same gradients on
/// a small compiled model (fused qkv and gate/up, stacked experts), parameters and state compared after
/// several steps; state saved by a twin loads into the fast optimizer and continues alike.
/// </summary>
public sealed class BatchedMatrixOptimizerTests(ITestOutputHelper output)
{
    /// <summary>Largest |a - b| over the tensor pair, relative to max(1e-30, max |a|).</summary>
    private static double RelativeDifference(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        var x = a.detach().to(ScalarType.Float64);
        var y = b.detach().to(ScalarType.Float64);
        Assert.Equal(x.shape, y.shape);
        return (x - y).abs().max().item<double>() / Math.Max(1e-30, x.abs().max().item<double>());
    }

    private static BatchedNewtonSchulz.Item[] MixedItems(ScalarType type)
    {
        var generator = new Generator(7);
        Tensor R(params long[] shape) => randn(shape, ScalarType.Float64, generator: generator).to(type);
        return
        [
            new(R(6, 4), null),          // transposed: iterated as 4 x 6
            new(R(4, 6), null),          // joins the previous one's group
            new(R(3, 5, 4), null),       // three stacked experts of 5 x 4
            new(R(7, 4), [3, 2, 2]),     // a fused weight: 3 x 4 and two 2 x 4 blocks
            new(R(2, 4), null),          // joins the fused weight's 2 x 4 blocks
            new(R(9, 9), [4, 5]),
        ];
    }

    [Fact]
    public void BatchedNewtonSchulzEqualsThePerMatrixIterationInFloat64()
    {
        var items = MixedItems(ScalarType.Float64);
        var batched = BatchedNewtonSchulz.OrthogonalizeBlocks(items, 5);
        for (var i = 0; i < items.Length; i++)
        {
            var single = NewtonSchulz.OrthogonalizeBlocks(items[i].Update, items[i].RowBlocks, 5);
            Assert.Equal(single.shape, batched[i].shape);
            var difference = (single - batched[i]).abs().max().item<double>();
            Assert.True(difference <= 1e-12, $"item {i}: batched and per-matrix differ by {difference:E2}");
        }
    }

    [Fact]
    public void BatchedNewtonSchulzMatchesThePerMatrixIterationInFloat32()
    {
        var items = MixedItems(ScalarType.Float32);
        var batched = BatchedNewtonSchulz.OrthogonalizeBlocks(items, 5);
        var worst = 0.0;
        for (var i = 0; i < items.Length; i++)
            worst = Math.Max(worst, RelativeDifference(NewtonSchulz.OrthogonalizeBlocks(items[i].Update, items[i].RowBlocks, 5), batched[i]));
        output.WriteLine($"float32 batched vs per-matrix NS: max relative difference {worst:E2}");
        Assert.True(worst <= 1e-5, $"float32 batched and per-matrix NS differ by {worst:E2} (relative)");
    }

    [Fact]
    public void BatchedNewtonSchulzRejectsRowBlocksThatDoNotCoverTheWeight()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            BatchedNewtonSchulz.OrthogonalizeBlocks([new(zeros(5, 3, dtype: ScalarType.Float64), [2, 2])], 5));
        Assert.Contains("do not add up to the 5 rows", error.Message);
    }

    [Theory]
    [InlineData(13, 4)]
    [InlineData(12, 4)]
    [InlineData(9, 16)]
    public void BlockedTriangularProductsEqualTheDenseOnes(int n, int block)
    {
        var generator = new Generator(3);
        var u = randn([n, n], ScalarType.Float64, generator: generator).triu();
        var v = randn([n, n], ScalarType.Float64, generator: generator).triu();
        var x = randn([n, 5], ScalarType.Float64, generator: generator);
        void Close(Tensor expected, Tensor actual) =>
            Assert.True((expected - actual).abs().max().item<double>() <= 1e-12 * Math.Max(1, expected.abs().max().item<double>()));
        Close(u.matmul(x), TriangularProducts.UpperTimes(u, x, block, denseUpTo: 0));
        Close(u.t().matmul(x), TriangularProducts.UpperTransposedTimes(u, x, block, denseUpTo: 0));
        Close(u.matmul(x.t().t()), TriangularProducts.UpperTimes(u, x.t().t(), block, denseUpTo: 0));
        var product = TriangularProducts.UpperTimesUpper(u, v, block, denseUpTo: 0);
        Close(u.matmul(v), product);
        Assert.Equal(0.0, product.tril(-1).abs().max().item<double>()); // exactly upper triangular
    }

    [Theory]
    [InlineData(11, 4)]
    [InlineData(8, 4)]
    [InlineData(5, 8)]
    public void SymmetricGramEqualsTheDenseProductAndIsExactlySymmetric(int rows, int block)
    {
        var generator = new Generator(5);
        foreach (var y in new[] { randn([rows, 6], ScalarType.Float64, generator: generator), randn([3, rows, 6], ScalarType.Float64, generator: generator) })
        {
            var gram = SymmetricProducts.Gram(y, block);
            var dense = y.matmul(y.transpose(-2, -1));
            Assert.True((dense - gram).abs().max().item<double>() <= 1e-12 * dense.abs().max().item<double>());
            if (rows > block) // the mirrored blocks are exact copies
                Assert.Equal(0.0, (gram.narrow(-2, 0, block).narrow(-1, block, rows - block)
                    - gram.narrow(-2, block, rows - block).narrow(-1, 0, block).transpose(-2, -1)).abs().max().item<double>());
        }
    }

    [Fact]
    public void WideMatricesTakeTheBlockedSymmetricNewtonSchulzAndStillMatchThePerMatrixIteration()
    {
        // 300 rows after transposition: above the 256-row block, so A and A^2 are built from their upper blocks.
        var generator = new Generator(9);
        BatchedNewtonSchulz.Item[] items = [new(randn([300, 320], ScalarType.Float64, generator: generator), null), new(randn([330, 300], ScalarType.Float64, generator: generator), null)];
        var batched = BatchedNewtonSchulz.OrthogonalizeBlocks(items, 5);
        for (var i = 0; i < items.Length; i++)
        {
            var difference = (NewtonSchulz.OrthogonalizeBlocks(items[i].Update, null, 5) - batched[i]).abs().max().item<double>();
            Assert.True(difference <= 1e-12, $"item {i}: {difference:E2}");
        }
    }

    /// <summary>Width 32, one dense block with a fused qkv (GQA) and gate/up, one MoE block with stacked experts; untied head.</summary>
    private static readonly ModelSpec Small = ModelSpec.Llama(vocab: 24, width: 32, depth: 2, heads: 4, kvHeads: 2) with
    {
        MaxSequenceLength = 16,
        TiedHead = false,
        Blocks = ValueList.Of(
            new BlockSpec { Attention = new AttentionSpec { Heads = 4, KvHeads = 2 } },
            new BlockSpec { Attention = new AttentionSpec { Heads = 4 }, FeedForward = new MoeFeedForward { Experts = 4, TopK = 2, ExpertHidden = 24 } }),
    };

    /// <summary>Vocab 600: the embedding and head have a 600-row side, so Kron's triangular factor and the Gram matrices
    /// of Kron and SOAP take the blocked products.</summary>
    private static readonly ModelSpec WideVocabulary = ModelSpec.Llama(vocab: 600, width: 16, depth: 1, heads: 2) with { MaxSequenceLength = 16, TiedHead = false };

    private static List<NamedParameter> Copy(IReadOnlyList<NamedParameter> parameters, ScalarType type) =>
        parameters.Select(p => new NamedParameter(p.Name, new TorchSharp.Modules.Parameter(p.Parameter.detach().to(type).clone()), p.Role, p.RowBlocks)
            { HeadBlocks = p.HeadBlocks, ResidualOutput = p.ResidualOutput }).ToList();

    private static Core.Training.OptimizerSpec Spec(string name) => name switch
    {
        "muon" => new Core.Training.Muon { WeightDecay = 0.1 },
        "muonPlain" => new Core.Training.Muon { WeightDecay = 0.1, Nesterov = false },
        "scion" => new Core.Training.Scion { WeightDecay = 0.1 },
        "soap" => new Core.Training.Soap { PreconditionFrequency = 2 },
        "kron" => new Core.Training.Kron { WeightDecay = 0.1 },
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "no such optimizer"),
    };

    private static IOptimizer Twin(string name, IReadOnlyList<NamedParameter> parameters) => Spec(name) switch
    {
        Core.Training.Muon muon => new Reference.MuonOptimizer(muon, parameters, 1.0),
        Core.Training.Scion scion => new Reference.ScionOptimizer(scion, parameters, 1.0),
        Core.Training.Soap soap => new Reference.SoapOptimizer(soap, parameters, 1.0),
        Core.Training.Kron kron => new Reference.KronOptimizer(kron, parameters, 1.0),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "no twin"),
    };

    /// <summary>Gives both optimizers the same pseudo-random gradients (drawn in float64) and steps them.</summary>
    private static void StepBoth(IOptimizer fast, IOptimizer twin, int step)
    {
        var generator = new Generator((ulong)(1000 + step));
        for (var i = 0; i < fast.Slots.Count; i++)
        {
            var p = fast.Slots[i].Parameter;
            var g = (randn(p.shape, ScalarType.Float64, generator: generator) * 0.05).to(p.dtype);
            p.grad = g.clone();
            twin.Slots[i].Parameter.grad = g.clone();
        }
        var multiplier = 1.0 - 0.1 * step; // a schedule, to exercise the multiplier
        fast.Step(multiplier, StepContext.None);
        twin.Step(multiplier, StepContext.None);
    }

    /// <summary>Largest relative difference over parameters and state. SOAP's bases are compared through what
    /// they determine (the first moment mapped back, Q0 m Q1^T): the eigenvectors of a repeated (e.g. zero)
    /// eigenvalue are any basis of their space, so the raw Q and the second moment in it may legitimately differ.</summary>
    private static double Compare(IOptimizer fast, IOptimizer twin, bool soap)
    {
        var worst = 0.0;
        for (var i = 0; i < fast.Slots.Count; i++)
        {
            var (a, b) = (fast.Slots[i], twin.Slots[i]);
            Assert.Equal(b.Steps, a.Steps);
            worst = Math.Max(worst, RelativeDifference(b.Parameter, a.Parameter));
            Assert.Equal(b.State.Keys.Order(), a.State.Keys.Order());
            foreach (var key in b.State.Keys)
            {
                if (soap && key is "Q0" or "Q1" or "v") continue;
                if (soap && key == "m")
                {
                    worst = Math.Max(worst, RelativeDifference(SoapFirstMoment(b), SoapFirstMoment(a)));
                    continue;
                }
                worst = Math.Max(worst, RelativeDifference(b.State[key], a.State[key]));
            }
        }
        return worst;
    }

    private static Tensor SoapFirstMoment(ParameterSlot slot)
    {
        var m = slot.State["m"];
        if (slot.State.TryGetValue("Q0", out var q0)) m = q0.matmul(m);
        if (slot.State.TryGetValue("Q1", out var q1)) m = m.matmul(q1.t());
        return m;
    }

    [Theory]
    [InlineData("muon", ScalarType.Float64, 1e-12)]
    [InlineData("muonPlain", ScalarType.Float64, 1e-12)]
    [InlineData("scion", ScalarType.Float64, 1e-12)]
    [InlineData("soap", ScalarType.Float64, 1e-10)]
    [InlineData("kron", ScalarType.Float64, 1e-12)]
    [InlineData("muon", ScalarType.Float32, 2e-5)]
    [InlineData("scion", ScalarType.Float32, 2e-5)]
    [InlineData("soap", ScalarType.Float32, 1e-3)]
    [InlineData("kron", ScalarType.Float32, 2e-5)]
    public void TheFastOptimizerKeepsItsTwinsParametersAndState(string name, ScalarType type, double tolerance)
    {
        using var model = ModelCompiler.Build(Small);
        var fast = OptimizerFactory.Create(Spec(name), Copy(model.NamedParameters(), type), clipGradNorm: 1.0);
        var twin = Twin(name, Copy(model.NamedParameters(), type));
        Assert.Equal(twin.GetType().Name, fast.GetType().Name);
        var worst = 0.0;
        for (var step = 0; step < 6; step++)
        {
            StepBoth(fast, twin, step);
            worst = Math.Max(worst, Compare(fast, twin, name == "soap"));
        }
        output.WriteLine($"{name} {type}: max relative difference over 6 steps {worst:E2}");
        Assert.True(worst <= tolerance, $"{name} {type}: the fast optimizer drifted from its twin by {worst:E2} (relative)");
    }

    [Theory]
    [InlineData("kron", ScalarType.Float64, 1e-12)]
    [InlineData("kron", ScalarType.Float32, 2e-5)]
    [InlineData("soap", ScalarType.Float64, 1e-10)]
    [InlineData("soap", ScalarType.Float32, 1e-3)]
    public void WideSidesTakeTheBlockedProductsAndKeepTheTwinsState(string name, ScalarType type, double tolerance)
    {
        using var model = ModelCompiler.Build(WideVocabulary);
        var parameters = Copy(model.NamedParameters(), type);
        Assert.Contains(parameters, p => p.Parameter.shape[0] > TriangularProducts.DenseUpTo);
        var fast = OptimizerFactory.Create(Spec(name), parameters, clipGradNorm: 1.0);
        var twin = Twin(name, Copy(model.NamedParameters(), type));
        var worst = 0.0;
        for (var step = 0; step < 4; step++)
        {
            StepBoth(fast, twin, step);
            worst = Math.Max(worst, Compare(fast, twin, name == "soap"));
        }
        output.WriteLine($"{name} {type}, 600-row sides: max relative difference over 4 steps {worst:E2}");
        Assert.True(worst <= tolerance, $"{name} {type}: drifted from its twin by {worst:E2} (relative)");
    }

    [Theory]
    [InlineData("muon")]
    [InlineData("scion")]
    [InlineData("soap")]
    [InlineData("kron")]
    public void StateSavedByTheTwinLoadsAndContinuesAlike(string name)
    {
        using var model = ModelCompiler.Build(Small);
        var twinParameters = Copy(model.NamedParameters(), ScalarType.Float64);
        var twin = Twin(name, twinParameters);
        var scratch = OptimizerFactory.Create(Spec(name), Copy(model.NamedParameters(), ScalarType.Float64), clipGradNorm: 1.0);
        for (var step = 0; step < 3; step++) StepBoth(scratch, twin, step);
        using var saved = new MemoryStream();
        twin.SaveState(new BinaryWriter(saved));

        // The fast optimizer on the twin's weights, resumed from the twin's state.
        var fast = OptimizerFactory.Create(Spec(name), Copy(twinParameters, ScalarType.Float64), clipGradNorm: 1.0);
        saved.Position = 0;
        fast.LoadState(new BinaryReader(saved));
        Assert.Equal(twin.StepCount, fast.StepCount);
        var worst = 0.0;
        for (var step = 3; step < 6; step++)
        {
            StepBoth(fast, twin, step);
            worst = Math.Max(worst, Compare(fast, twin, name == "soap"));
        }
        output.WriteLine($"{name}: resumed from the twin's state, max relative difference over 3 steps {worst:E2}");
        Assert.True(worst <= 1e-10, $"{name}: after loading the twin's state the fast optimizer drifted by {worst:E2}");
    }
}
