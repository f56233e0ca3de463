using ModelDsl.Core;
using ModelDsl.Core.Model;
using ModelDsl.Core.Tasks;
using ModelDsl.Core.Training;
using ModelDsl.Runtime.Compile;
using ModelDsl.Runtime.Eval;
using ModelDsl.Runtime.Tests.Layers;
using ModelDsl.Runtime.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tests.Compile;

/// <summary>
/// A heterogeneous stack that uses every variant at once (PaTH with a forget gate and a G1 gate,
/// RoPE with a G2 gate, a mixture of experts every other layer): it decodes exactly like it
/// recomputes, and it trains through the ordinary trainer with routing reported per step and at
/// evaluation.
/// </summary>
public sealed class CombinedVariantsTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("combined-runs-").FullName;
    public void Dispose() => Directory.Delete(root, recursive: true);

    private static ModelSpec Stack(int vocab)
    {
        var path = new AttentionSpec { Heads = 4, KvHeads = 2, Position = new PathPosition { ForgetGate = true }, Gate = new GateSpec() };
        var rope = new AttentionSpec { Heads = 4, KvHeads = 2, Gate = new GateSpec { Position = GatePosition.G2, Granularity = GateGranularity.Headwise } };
        var moe = new MoeFeedForward { Experts = 4, TopK = 2, ExpertHidden = 16, Balance = new LoadBalance { Scope = BalanceScope.GlobalBatch } };
        return ModelSpec.Llama(vocab: vocab, width: 16, depth: 3, heads: 4) with
        {
            MaxSequenceLength = 32,
            Blocks = ValueList.Of(
                new BlockSpec { Attention = path },
                new BlockSpec { Attention = rope, FeedForward = moe },
                new BlockSpec { Attention = path, FeedForward = moe }),
        };
    }

    [Fact]
    public void CachedDecodingEqualsRecomputeAcrossEveryVariant()
    {
        using var scope = NewDisposeScope();
        var spec = Stack(vocab: 11);
        Assert.Empty(spec.Validate());
        using var model = ModelCompiler.Build(spec, ScalarType.Float64, seed: 3);
        model.eval();
        using var noGrad = no_grad();
        var tokens = torch.randint(0, 11, [2, 14], dtype: ScalarType.Int64, generator: new torch.Generator(4, torch.CPU));
        var full = model.forward(tokens);
        using var cache = model.NewCache(batch: 2, capacity: 14);
        var pieces = new List<Tensor> { model.Forward(tokens.narrow(1, 0, 6), cache) };
        for (var t = 6; t < 14; t++) pieces.Add(model.Forward(tokens.narrow(1, t, 1), cache));
        Assert.True(GradientCheck.MaxAbsDifference(full, torch.cat(pieces, 1)) < 1e-10);
    }

    [Fact]
    public void TrainsThroughTheTrainerWithRoutingReported()
    {
        var mixture = new TaskMixture
        {
            Components = ValueList.Of(
                new MixtureComponent { Domain = "flip-flop", Task = new FlipFlop { Pairs = 6 } },
                new MixtureComponent { Domain = "sums", Task = new ChainedArithmetic { Modulus = 5, Steps = 3 } }),
            Grouping = MixtureGrouping.PerMicroBatch,
        };
        var spec = new ExperimentSpec
        {
            Name = "combined",
            Model = Stack(mixture.VocabularySize()),
            Task = mixture,
            Training = new TrainingSpec
            {
                Optimizer = new AdamW { Lr = 1e-2 },
                Budget = new StepBudget(6),
                GlobalBatch = 8,
                MicroBatch = 4,
                Eval = new EvalSpec { Every = 0, Batches = 1, Problems = 4 },
                Checkpoint = new CheckpointSpec { Every = 0, Keep = 1 },
                Seed = 2,
            },
        };
        var steps = new List<IReadOnlyList<LayerRouting>>();
        IReadOnlyList<LayerRouting>? final = null;
        var result = Trainer.Run(spec, new TrainOptions
        {
            RunsRoot = root,
            OnRouting = (_, layers) => steps.Add(layers),
            OnRoutingEval = (_, layers) => final = layers,
        });
        Assert.All(result.TrainLosses, l => Assert.True(double.IsFinite(l)));
        Assert.Equal(6, steps.Count);
        // Two MoE layers; each step routes 8 sequences x k = 2 slots per token.
        Assert.All(steps, layers => Assert.Equal(2, layers.Count));
        Assert.All(steps.SelectMany(l => l), layer => Assert.Equal(1.0, layer.Load.Sum(), 9));
        Assert.NotNull(final);
        Assert.Equal(["flip-flop", "sums"], final![0].Domains);
    }
}
