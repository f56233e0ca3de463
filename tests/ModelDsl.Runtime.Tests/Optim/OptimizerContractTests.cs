using ModelDsl.Core.Training;
using ModelDsl.Runtime.Optim;
using static ModelDsl.Runtime.Tests.Optim.OptimTestSupport;
using static TorchSharp.torch;
using ModelDsl.Runtime.Parameters;

namespace ModelDsl.Runtime.Tests.Optim;

/// <summary>What every optimizer must do: resume exactly from saved state and minimise a convex quadratic.</summary>
public sealed class OptimizerContractTests
{
    /// <summary>Each optimizer with a learning rate that suits the quadratic below.</summary>
    public static TheoryData<string> Names => new(All.Keys);

    private static readonly Dictionary<string, OptimizerSpec> All = new()
    {
        ["adamW"] = new Core.Training.AdamW { Lr = 0.1, WeightDecay = 0 },
        ["nAdamW"] = new NAdamW { Lr = 0.1, WeightDecay = 0 },
        ["mars"] = new Mars { Lr = 0.1, WeightDecay = 0 },
        ["cautious"] = new Cautious { Lr = 0.1, WeightDecay = 0 },
        ["lion"] = new Lion { Lr = 0.03, WeightDecay = 0 },
        ["adamMini"] = new AdamMini { Lr = 0.1, WeightDecay = 0 },
        ["muon"] = new Muon { Lr = 0.1, WeightDecay = 0, AdamLrRatio = 1 },
        ["scion"] = new Scion { Lr = 0.1, WeightDecay = 0, SignumLrRatio = 0.3 },
        ["soap"] = new Soap { Lr = 0.1, WeightDecay = 0, PreconditionFrequency = 3 },
        ["sophiaH"] = new SophiaH { Lr = 0.05, WeightDecay = 0, HessianInterval = 2, Gamma = 1 },
        ["kron"] = new Kron { Lr = 0.1, WeightDecay = 0, FlatStart = 5, ProbabilityDecay = 0.2, MinUpdateProbability = 0.3 },
    };

    [Fact]
    public void EveryRegisteredOptimizerIsUnderContract() =>
        Assert.Equal(Core.Variants.VariantRegistry.Of<OptimizerSpec>().Select(v => v.Kind).Order(), All.Keys.Order());

    /// <summary>f = 1/2 sum a (x - target)^2 over a hidden matrix, an embedding and norm gains; a varies over [0.5, 4].</summary>
    private sealed class Quadratic
    {
        public readonly NamedParameter[] Parameters;
        private readonly double[][] curvature, target;

        public Quadratic(int seed)
        {
            long[][] shapes = [[4, 3], [3, 2], [3]];
            ParameterRole[] roles = [ParameterRole.HiddenMatrix, ParameterRole.Embedding, ParameterRole.Norm];
            string[] names = ["blocks.0.w", "embedding.weight", "norm.weight"];
            Parameters = shapes.Select((s, i) => Parameter(names[i], new double[s.Aggregate(1L, (a, b) => a * b)], s, roles[i])).ToArray();
            curvature = Parameters.Select((p, i) => Pseudo((int)p.Parameter.numel(), seed + i).Select(x => 2.25 + 1.75 * x).ToArray()).ToArray();
            target = Parameters.Select((p, i) => Pseudo((int)p.Parameter.numel(), seed + 10 + i)).ToArray();
        }

        public double Loss() => Parameters.Select((p, i) => Values(p.Parameter).Select((x, j) => 0.5 * curvature[i][j] * (x - target[i][j]) * (x - target[i][j])).Sum()).Sum();

        public double[][] Gradients() => Parameters.Select((p, i) => Values(p.Parameter).Select((x, j) => curvature[i][j] * (x - target[i][j])).ToArray()).ToArray();

        public StepContext Context => new(vectors => vectors.Select((v, i) => v * tensor(curvature[i], ScalarType.Float64).reshape(v.shape)).ToList());
    }

    private static void Train(IOptimizer optimizer, Quadratic problem, int from, int to, int total)
    {
        for (var t = from; t < to; t++) StepWith(optimizer, problem.Gradients(), 1.0 - (double)t / total, problem.Context);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void SavedStateResumesBitForBit(string name)
    {
        var straight = new Quadratic(1);
        using var a = OptimizerFactory.Create(All[name], straight.Parameters, clipGradNorm: 1.0);
        Train(a, straight, 0, 8, 16);

        var resumed = new Quadratic(1);
        using var stream = new MemoryStream();
        a.SaveState(new BinaryWriter(stream));
        for (var i = 0; i < resumed.Parameters.Length; i++)
            using (no_grad()) resumed.Parameters[i].Parameter.copy_(straight.Parameters[i].Parameter);
        using var b = OptimizerFactory.Create(All[name], resumed.Parameters, clipGradNorm: 1.0);
        stream.Position = 0;
        b.LoadState(new BinaryReader(stream));
        Assert.Equal(8, b.StepCount);

        Train(a, straight, 8, 16, 16);
        Train(b, resumed, 8, 16, 16);
        for (var i = 0; i < straight.Parameters.Length; i++)
            Assert.Equal(Values(straight.Parameters[i].Parameter), Values(resumed.Parameters[i].Parameter));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void MinimisesAConvexQuadratic(string name)
    {
        var problem = new Quadratic(7);
        var initial = problem.Loss();
        using var optimizer = OptimizerFactory.Create(All[name], problem.Parameters, clipGradNorm: null);
        Train(optimizer, problem, 0, 300, 300);
        var final = problem.Loss();
        Assert.True(final < 0.01 * initial, $"{name}: loss {initial:G4} -> {final:G4}");
    }

    [Fact]
    public void LoadingStateOfAnotherOptimizerOrParameterSetFailsClearly()
    {
        var problem = new Quadratic(1);
        using var adam = OptimizerFactory.Create(All["adamW"], problem.Parameters, null);
        Train(adam, problem, 0, 2, 4);
        using var stream = new MemoryStream();
        adam.SaveState(new BinaryWriter(stream));
        using var lion = OptimizerFactory.Create(All["lion"], problem.Parameters, null);
        stream.Position = 0;
        Assert.Contains("AdamWOptimizer", Assert.Throws<InvalidDataException>(() => lion.LoadState(new BinaryReader(stream))).Message);
        using var fewer = OptimizerFactory.Create(All["adamW"], problem.Parameters[..2], null);
        stream.Position = 0;
        Assert.Contains("3 parameters", Assert.Throws<InvalidDataException>(() => fewer.LoadState(new BinaryReader(stream))).Message);
    }
}
