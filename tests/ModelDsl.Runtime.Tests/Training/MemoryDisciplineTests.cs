using ModelDsl.Core.Training;
using ModelDsl.Runtime.Training;
using TorchSharp;

namespace ModelDsl.Runtime.Tests.Training;

public sealed class MemoryDisciplineTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("memory-").FullName;
    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>
    /// Every tensor a step creates is disposed by the end of the step: the count of live tensors
    /// (TorchSharp's exact per-thread statistics) is the same after step 20 as after step 120.
    /// </summary>
    [Fact]
    public void LiveTensorCountStaysFlatAcrossSteps()
    {
        var spec = new ModelDsl.Core.ExperimentSpec
        {
            Name = "memory",
            Model = ModelDsl.Core.Model.ModelSpec.Llama(vocab: 4, width: 8, depth: 1, heads: 2) with { MaxSequenceLength = 16 },
            Task = new ModelDsl.Core.Tasks.SparseParity { Bits = 6, Secret = 2 },
            Training = new TrainingSpec
            {
                Budget = new StepBudget(120), GlobalBatch = 8, MicroBatch = 4, ClipGradNorm = null,
                Eval = new EvalSpec { Every = 50, Batches = 1, Problems = 4 }, Checkpoint = new CheckpointSpec { Every = 50 },
            },
        };
        var live = new Dictionary<long, (long InScopes, long OutsideScopes)>();
        Trainer.Run(spec, new TrainOptions
        {
            RunsRoot = root,
            OnProgress = p =>
            {
                var stats = DisposeScopeManager.Statistics;
                live[p.Step] = (stats.ThreadTotalLiveCount, stats.CreatedOutsideScopeCount - stats.DisposedOutsideScopeCount);
            },
        });
        // A leak of even one tensor per step would add 100 here. Tensors made outside any scope may
        // still be released by the finalizer between the two readings (also ones from other tests:
        // the counters are process-wide), so that count may only fall.
        Assert.Equal(live[20].InScopes, live[120].InScopes);
        Assert.Equal(live[60].InScopes, live[110].InScopes); // after evaluations and checkpoints too
        Assert.True(live[120].OutsideScopes <= live[20].OutsideScopes,
            $"tensors made outside scopes grew from {live[20].OutsideScopes} to {live[120].OutsideScopes}");
    }
}
