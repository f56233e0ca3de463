using ModelDsl.Core;
using ModelDsl.Core.Model;
using ModelDsl.Core.Tasks;
using ModelDsl.Core.Training;
using ModelDsl.Runtime.Training;

namespace ModelDsl.Runtime.Tests.Training;

/// <summary>TrainOptions.OnStepTimings: one report per applied step, phases that add up, and no effect on the run.</summary>
public sealed class StepTimingsTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("timings-").FullName;
    public void Dispose() => Directory.Delete(root, recursive: true);

    private static ExperimentSpec Spec() => new()
    {
        Name = "timings",
        Model = ModelSpec.Llama(vocab: SparseParity.Vocabulary, width: 16, depth: 1, heads: 2) with { MaxSequenceLength = 32 },
        Task = new SparseParity { Bits = 8, Secret = 2 },
        Training = new TrainingSpec
        {
            Optimizer = new AdamW { Lr = 1e-2, WeightDecay = 0.1 },
            Budget = new StepBudget(5),
            GlobalBatch = 16,
            MicroBatch = 8,
            ClipGradNorm = 0.5,
            Eval = new EvalSpec { Every = 0, Batches = 1, Problems = 4 },
            Checkpoint = new CheckpointSpec { Every = 0, Keep = 1 },
            Seed = 3,
        },
    };

    [Fact]
    public void EveryStepIsReportedOnceWithPhasesWithinItsTotalAndTheLossesAreThoseOfAnUntimedRun()
    {
        var timings = new List<StepTimings>();
        var timed = Trainer.Run(Spec(), new TrainOptions { RunDirectory = Path.Combine(root, "timed"), OnStepTimings = timings.Add });
        var untimed = Trainer.Run(Spec(), new TrainOptions { RunDirectory = Path.Combine(root, "untimed") });

        Assert.Equal(untimed.TrainLosses, timed.TrainLosses);
        Assert.Equal([1L, 2, 3, 4, 5], timings.Select(t => t.Step));
        Assert.All(timings, t =>
        {
            double[] phases = [t.Batch, t.ZeroGrad, t.ForwardLoss, t.Backward, t.GradientNorm, t.Clip, t.Optimizer];
            Assert.All(phases, p => Assert.True(p >= 0));
            // Two micro-batches: forward and backward both ran, and the phases are parts of the step.
            Assert.True(t.ForwardLoss > 0 && t.Backward > 0);
            Assert.True(t.Overhead >= t.Batch - 1e-12, $"overhead {t.Overhead} must include the batch time {t.Batch}");
            Assert.True(t.Overhead >= 0);
        });
    }
}
