using ModelDsl.Runtime.Layers;
using ModelDsl.Runtime.Model;
using ModelDsl.Core;
using ModelDsl.Core.Model;
using ModelDsl.Core.Tasks;
using ModelDsl.Core.Training;
using ModelDsl.Runtime.Compile;
using ModelDsl.Runtime.Eval;
using ModelDsl.Runtime.Runs;
using ModelDsl.Runtime.Training;
using static TorchSharp.torch;
using TaskFactory = ModelDsl.Runtime.Tasks.TaskFactory;
using ModelDsl.Runtime.Losses;
using ModelDsl.Runtime.Moe;

namespace ModelDsl.Runtime.Tests.Moe;

public sealed class MoeTrainingTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("moe-runs-").FullName;
    public void Dispose() => Directory.Delete(root, recursive: true);

    private static readonly TaskMixture Mixture = new()
    {
        Components = new ValueList<MixtureComponent>([
            new MixtureComponent { Domain = "parity", Task = new SparseParity { Bits = 6, Secret = 2 } },
            new MixtureComponent { Domain = "sums", Task = new ChainedArithmetic { Modulus = 5, Steps = 3 } },
        ]),
    };

    private static ModelSpec Model(BalanceScope scope, double? capacity = null)
    {
        var llama = ModelSpec.Llama(vocab: Mixture.VocabularySize(), width: 16, depth: 2, heads: 2) with { MaxSequenceLength = 32 };
        var blocks = llama.Blocks.ToList();
        blocks[1] = blocks[1] with
        {
            FeedForward = new MoeFeedForward
            {
                Experts = 4, TopK = 2, ExpertHidden = 16, CapacityFactor = capacity, ZLoss = 1e-3,
                Balance = new LoadBalance { Scope = scope, Coefficient = 1e-2 },
            },
        };
        return llama with { Blocks = ValueList.Of(blocks.ToArray()) };
    }

    private static ExperimentSpec Spec(BalanceScope scope, double? capacity = null) => new()
    {
        Name = "moe",
        Model = Model(scope, capacity),
        Task = Mixture,
        Training = new TrainingSpec
        {
            Optimizer = new AdamW { Lr = 1e-2 },
            Budget = new StepBudget(8),
            GlobalBatch = 12,
            MicroBatch = 4,
            Eval = new EvalSpec { Every = 4, Batches = 2, Problems = 8 },
            Checkpoint = new CheckpointSpec { Every = 3, Keep = 2 },
            Seed = 5,
        },
    };

    [Fact]
    public void MoeModelTrainsLogsAuxiliaryLossesAndRoutingAndResumesExactly()
    {
        var spec = Spec(BalanceScope.GlobalBatch, capacity: 1.5);
        var straightPath = Path.Combine(root, "straight");
        var straight = Trainer.Run(spec, new TrainOptions { RunDirectory = straightPath });
        var resumedPath = Path.Combine(root, "resumed");
        Trainer.Run(spec, new TrainOptions { RunDirectory = resumedPath, StopAfterStep = 5 });
        var resumed = Trainer.Run(spec, new TrainOptions { RunDirectory = resumedPath });

        Assert.Equal(straight.TrainLosses, resumed.TrainLosses);
        Assert.True(straight.TrainLosses[^1] < straight.TrainLosses[0], "the MoE model learns");

        var events = MetricsLog.Read(Path.Combine(straightPath, "metrics.jsonl"));
        var train = events.Where(e => (string?)e["event"] == "train").ToList();
        var balance = train.Select(e => e["aux.model.blocks[1].feedForward.balance"]!.GetValue<double>()).ToList();
        Assert.Equal(8, balance.Count);
        // Coefficient 1e-2 times E * sum f p, which is at least about 1 (1 when balanced).
        Assert.All(balance, b => Assert.InRange(b, 0.5e-2, 4e-2));
        Assert.All(train, e => Assert.True(e["aux.model.blocks[1].feedForward.zLoss"]!.GetValue<double>() > 0));
        var resumedTrain = MetricsLog.Read(Path.Combine(resumedPath, "metrics.jsonl")).Where(e => (string?)e["event"] == "train")
            .Select(e => e["aux.model.blocks[1].feedForward.balance"]!.GetValue<double>());
        Assert.Equal(balance, resumedTrain);

        var moe = events.Where(e => (string?)e["event"] == "moe").ToList();
        Assert.Equal(8, moe.Count);
        var load = Enumerable.Range(0, 4).Sum(i => moe[0][$"model.blocks[1].feedForward.load.{i}"]!.GetValue<double>());
        Assert.Equal(1.0, load, 9);
        Assert.InRange(moe[0]["model.blocks[1].feedForward.droppedFraction"]!.GetValue<double>(), 0, 0.5);
        var moeEval = events.Where(e => (string?)e["event"] == "moeEval").ToList();
        Assert.Equal(2, moeEval.Count);
        var sums = Enumerable.Range(0, 4).Sum(i => moeEval[0][$"model.blocks[1].feedForward.domain.sums.expert.{i}"]!.GetValue<double>());
        Assert.Equal(1.0, sums, 9);
    }

    [Fact]
    public void GlobalCountsCoverExactlyTheMicroBatchesOfOneOptimizerStep()
    {
        using var scope = NewDisposeScope();
        using var model = ModelCompiler.Build(Model(BalanceScope.GlobalBatch), ScalarType.Float64, seed: 2);
        model.train();
        var layer = Assert.Single(ModuleSearch.Distinct<MixtureOfExpertsFeedForward>(model));
        var participants = StepParticipants.Of(model);
        var task = TaskFactory.Create(Mixture, 1);
        var batches = Enumerable.Range(0, 3).Select(m => task.TrainBatch(0, m, 4)).ToList();

        participants.BeginStep();
        var first = GradientAccumulation.BackwardWithAuxiliary(model, batches, CPU);
        Assert.Equal(3, layer.GlobalCounts.MicroBatches);
        var slotsPerStep = 3 * 4 * task.SequenceLength * 2.0;
        Assert.Equal(slotsPerStep, layer.GlobalCounts.Slots);
        Assert.Equal(slotsPerStep, layer.GlobalCounts.Counts.sum().item<double>());

        // Same weights, same batches: after the reset the step sees the same statistics again ...
        participants.BeginStep();
        var second = GradientAccumulation.BackwardWithAuxiliary(model, batches, CPU);
        Assert.Equal(first.Auxiliary, second.Auxiliary);
        // ... without it the counts would run on over six micro-batches and the balance term would change.
        var third = GradientAccumulation.BackwardWithAuxiliary(model, batches, CPU);
        Assert.Equal(6, layer.GlobalCounts.MicroBatches);
        Assert.NotEqual(first.Auxiliary[0].Value, third.Auxiliary[0].Value);
        Assert.Equal(first.LanguageModel, third.LanguageModel);
    }

    [Fact]
    public void AuxiliaryLossesAreAveragedOverMicroBatchesInTheGradient()
    {
        using var scope = NewDisposeScope();
        using var model = ModelCompiler.Build(Model(BalanceScope.MicroBatch), ScalarType.Float64, seed: 2);
        var task = TaskFactory.Create(Mixture, 1);
        var batches = Enumerable.Range(0, 2).Select(m => task.TrainBatch(0, m, 4)).ToList();
        var router = model.NamedParameters().Single(p => p.Name.EndsWith("router.scores.weight")).Parameter;

        router.grad?.zero_();
        var accumulated = GradientAccumulation.BackwardWithAuxiliary(model, batches, CPU);
        var gradient = router.grad!.clone();

        // Independent: one graph over both micro-batches, LM as global token mean, auxiliary as a mean of micro-batch values.
        router.grad!.zero_();
        var tokens = batches.Sum(b => b.LossMask.sum().item<float>());
        Tensor total = zeros(1, ScalarType.Float64);
        foreach (var batch in batches)
        {
            var output = model.Run(batch.Inputs);
            total = total + MaskedCrossEntropy.Sum(output.Logits, batch.Targets, batch.LossMask) / tokens + output.AuxiliaryLosses.Total()! / 2;
        }
        total.backward();
        Assert.True((gradient - router.grad!).abs().max().item<double>() < 1e-12);
        Assert.Equal(total.item<double>(), accumulated.Total, 10);
        Assert.Equal(["model.blocks[1].feedForward.balance", "model.blocks[1].feedForward.zLoss"], accumulated.Auxiliary.Select(a => a.Name));
    }

    [Fact]
    public void RoutingStatisticsMeasureLoadAndDomainSpecialisation()
    {
        // Domain 0 always on expert 0; domain 1 split over experts 1 and 2; expert 3 idle.
        var slots = new double[,] { { 4, 0, 0, 0 }, { 0, 2, 2, 0 } };
        var routing = new LayerRouting("layer", slots, DroppedSlots: 2, ["a", "b"]);
        Assert.Equal([0.5, 0.25, 0.25, 0.0], routing.Load);
        var mean = 0.25;
        var std = Math.Sqrt((0.0625 + 0 + 0 + 0.0625) / 4);
        Assert.Equal(std / mean, routing.LoadCoefficientOfVariation, 12);
        // The domain determines the expert group: I = H(domain) = log 2.
        Assert.Equal(Math.Log(2), routing.MutualInformation, 12);
        Assert.Equal(0.5 * 1.0 + 0.5 * 0.5, routing.TopExpertShare, 12);
        Assert.Equal(0.25, routing.DroppedFraction, 12);
        var uniform = new LayerRouting("layer", new double[,] { { 1, 1 }, { 1, 1 } }, 0, ["a", "b"]);
        Assert.Equal(0.0, uniform.MutualInformation, 12);
        Assert.Equal(0.0, uniform.LoadCoefficientOfVariation, 12);
    }
}
