using ModelDsl.Core;
using ModelDsl.Core.Model;
using ModelDsl.Core.Tasks;
using ModelDsl.Core.Training;
using ModelDsl.Runtime.Optim;
using ModelDsl.Runtime.Tasks;
using ModelDsl.Runtime.Training;
using static ModelDsl.Runtime.Tests.Optim.OptimTestSupport;
using static TorchSharp.torch;
using ModelDsl.Runtime.Parameters;

namespace ModelDsl.Runtime.Tests.Optim;

/// <summary>Optimizers on the compiled transformer: parameter groups, the Hessian-vector product, and training through the loop.</summary>
public sealed class CompiledModelOptimizerTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("optim-runs-").FullName;
    public void Dispose() => Directory.Delete(root, recursive: true);

    private static readonly ModelSpec Small = ModelSpec.Llama(vocab: 16, width: 16, depth: 2, heads: 2, kvHeads: 1) with { MaxSequenceLength = 16, TiedHead = false };

    [Fact]
    public void MuonAndScionGiveHiddenMatricesTheMatrixRuleAndEverythingElseTheirScalarRule()
    {
        var model = Trainer.BuildLanguageModel(Small, ScalarType.Float32, CPU, 1);
        var muon = OptimizerFactory.Create(new Muon { AdamLrRatio = 0.3 }, model.Parameters, clipGradNorm: 1.0);
        var scion = OptimizerFactory.Create(new Scion { SignumLrRatio = 0.1 }, model.Parameters, clipGradNorm: 1.0);
        Assert.Contains(muon.Slots, s => s.Name == "blocks.0.attention.qkv.weight" && s.Group == "muon");
        Assert.Contains(muon.Slots, s => s.Name == "head.weight" && s.Group == "adamW");
        foreach (var slot in muon.Slots)
        {
            var isMatrix = slot.Role == ParameterRole.HiddenMatrix;
            Assert.Equal(isMatrix ? "muon" : "adamW", slot.Group);
            Assert.Equal(isMatrix ? 1.0 : 0.3, slot.LrRatio);
            Assert.Equal(!isMatrix, slot.Clipped); // the clip covers the AdamW group only
            Assert.Equal(slot.Role is ParameterRole.HiddenMatrix or ParameterRole.Head, slot.Decay);
        }
        foreach (var slot in scion.Slots)
        {
            var isMatrix = slot.Role == ParameterRole.HiddenMatrix;
            Assert.Equal(isMatrix ? "spectral" : "signum", slot.Group);
            Assert.Equal(isMatrix ? 1.0 : 0.1, slot.LrRatio);
        }
        // Weight decay skips the embedding, norm gains and biases and keeps the untied head.
        Assert.DoesNotContain(muon.Slots, s => s.Decay && s.Role is ParameterRole.Embedding or ParameterRole.Norm or ParameterRole.Bias);
        Assert.Contains(muon.Slots, s => s.Decay && s.Role == ParameterRole.Head);
        Assert.Contains(muon.Slots, s => !s.Decay && s.Role == ParameterRole.Norm);
    }

    [Fact]
    public void AdamMiniFindsTheQueryAndKeyHeadsOfTheFusedProjection()
    {
        var model = Trainer.BuildLanguageModel(Small, ScalarType.Float32, CPU, 1);
        // 2 query heads and 1 key head of dimension 8: 3 head blocks, then 8 value rows.
        var parameters = model.Parameters.ToDictionary(p => p.Name);
        Assert.Equal(new QueryKeyHeads(3, 8), parameters["blocks.1.attention.qkv.weight"].HeadBlocks);
        Assert.Null(parameters["blocks.1.attention.output.weight"].HeadBlocks);
    }

    [Fact]
    public void HessianVectorProductMatchesFiniteDifferencesOfTheGradient()
    {
        var task = ModelDsl.Runtime.Tasks.TaskFactory.Create(new SparseParity { Bits = 4, Secret = 1 }, 5);
        var spec = Small with { Vocab = SparseParity.Vocabulary, MaxSequenceLength = 32 };
        var model = Trainer.BuildLanguageModel(spec, ScalarType.Float64, CPU, 2);
        var batches = new List<Batch> { task.TrainBatch(0, 0, 2), task.TrainBatch(0, 1, 2) };
        var parameters = model.Parameters.Select(p => (Tensor)p.Parameter).ToList();
        manual_seed(9);
        var vectors = parameters.Select(p => randn_like(p)).ToList();

        var hv = GradientAccumulation.HessianVectorProduct(model.Module, batches, CPU, parameters, vectors);
        Assert.All(parameters, p => Assert.True(p.grad is null || p.grad.abs().sum().item<double>() == 0));

        double[] GradientAt(double epsilon)
        {
            using (no_grad()) for (var i = 0; i < parameters.Count; i++) parameters[i].add_(vectors[i], alpha: epsilon);
            foreach (var p in parameters) p.grad = null;
            GradientAccumulation.Backward(model.Module, batches, CPU);
            var flat = parameters.SelectMany(p => Values(p.grad!)).ToArray();
            using (no_grad()) for (var i = 0; i < parameters.Count; i++) parameters[i].add_(vectors[i], alpha: -epsilon);
            return flat;
        }
        const double h = 1e-5;
        var plus = GradientAt(h);
        var minus = GradientAt(-h);
        var finiteDifference = plus.Select((x, i) => (x - minus[i]) / (2 * h)).ToArray();
        var exact = hv.SelectMany(Values).ToArray();
        var scale = finiteDifference.Max(Math.Abs);
        Assert.True(scale > 1e-3);
        for (var i = 0; i < exact.Length; i++) Assert.True(Math.Abs(exact[i] - finiteDifference[i]) < 1e-6 * scale + 1e-8, $"element {i}: {exact[i]} vs {finiteDifference[i]}");
    }

    private static ExperimentSpec Spec(OptimizerSpec optimizer, int steps) => new()
    {
        Name = "optim",
        Model = ModelSpec.Llama(vocab: SparseParity.Vocabulary, width: 16, depth: 1, heads: 2) with { MaxSequenceLength = 32 },
        Task = new SparseParity { Bits = 8, Secret = 2 },
        Training = new TrainingSpec
        {
            Optimizer = optimizer,
            Schedule = new ConstantSchedule(),
            Budget = new StepBudget(steps),
            GlobalBatch = 16,
            MicroBatch = 8,
            ClipGradNorm = 1.0,
            Eval = new EvalSpec { Every = 0, Batches = 1, Problems = 0 },
            Checkpoint = new CheckpointSpec { Every = 4, Keep = 1 },
            Seed = 3,
        },
    };

    public static TheoryData<string> Names => new(["adamW", "nAdamW", "mars", "cautious", "lion", "adamMini", "muon", "scion", "soap", "sophiaH", "kron"]);

    private static OptimizerSpec ForTinyModel(string name) => name switch
    {
        "adamW" => new Core.Training.AdamW { Lr = 1e-2 },
        "nAdamW" => new NAdamW { Lr = 1e-2 },
        "mars" => new Mars { Lr = 1e-2 },
        "cautious" => new Cautious { Lr = 1e-2 },
        "lion" => new Lion { Lr = 5e-3, WeightDecay = 0.1 },
        "adamMini" => new AdamMini { Lr = 1e-2 },
        "muon" => new Muon { Lr = 0.05 },
        "scion" => new Scion { Lr = 0.05, SignumLrRatio = 0.1 },
        "soap" => new Soap { Lr = 1e-2, PreconditionFrequency = 3 },
        "sophiaH" => new SophiaH { Lr = 1e-2, HessianInterval = 3, Gamma = 0.05 },
        "kron" => new Kron { Lr = 3e-2, FlatStart = 3 },
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void TrainsTheCompiledModelAndResumesExactly(string name)
    {
        var spec = Spec(ForTinyModel(name), steps: 10);
        var straight = Trainer.Run(spec, new TrainOptions { RunDirectory = Path.Combine(root, name + "-straight") });
        var losses = straight.TrainLosses;
        Assert.True(losses.TakeLast(3).Average() < 0.8 * losses[0], $"{name}: losses {string.Join(", ", losses.Select(l => l.ToString("F3")))}");

        var path = Path.Combine(root, name + "-resumed");
        Trainer.Run(spec, new TrainOptions { RunDirectory = path, StopAfterStep = 6 });
        var resumed = Trainer.Run(spec, new TrainOptions { RunDirectory = path });
        Assert.Equal(losses, resumed.TrainLosses);
    }
}
