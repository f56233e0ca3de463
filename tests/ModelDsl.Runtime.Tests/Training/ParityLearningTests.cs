using ModelDsl.Core;
using ModelDsl.Core.Model;
using ModelDsl.Core.Tasks;
using ModelDsl.Core.Training;
using ModelDsl.Runtime.Training;

namespace ModelDsl.Runtime.Tests.Training;

/// <summary>End to end on the compiled transformer: sparse parity with chain of thought is learnable (PAPERS.md §10).</summary>
public sealed class ParityLearningTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("parity-").FullName;
    public void Dispose() => Directory.Delete(root, recursive: true);

    [Fact]
    public void ChainOfThoughtParityLossFallsFarBelowChance()
    {
        var spec = new ExperimentSpec
        {
            Name = "parity-cot",
            Model = ModelSpec.Llama(vocab: SparseParity.Vocabulary, width: 64, depth: 2, heads: 4) with { MaxSequenceLength = 16 },
            Task = new SparseParity { Bits = 8, Secret = 2, ChainOfThought = true },
            Training = new TrainingSpec
            {
                Optimizer = new AdamW { Lr = 3e-3, WeightDecay = 0.01 },
                Schedule = new WarmupCosine { WarmupFraction = 0.05, MinRatio = 0.1 },
                Budget = new StepBudget(150),
                GlobalBatch = 64,
                MicroBatch = 64,
                Eval = new EvalSpec { Every = 0, Batches = 4, Problems = 128 },
                Checkpoint = new CheckpointSpec { Every = 0 },
                Seed = 1,
                Threads = 2,
            },
        };
        var result = Trainer.Run(spec, new TrainOptions { RunsRoot = root });

        // Chance is ln 2 per answer token (each is a fair bit); a learned chain of thought is near 0.
        Assert.True(result.FinalEval.ValidationLoss < 0.1 * Math.Log(2), $"validation loss {result.FinalEval.ValidationLoss}");
        Assert.True(result.FinalEval.Accuracy >= 0.9, $"accuracy {result.FinalEval.Accuracy}");
    }
}
