using ModelDsl.Core;
using ModelDsl.Core.Model;
using ModelDsl.Core.Tasks;
using ModelDsl.Core.Training;
using ModelDsl.Runtime.Training;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tests.Training;

/// <summary>A run sets torch's thread count and seeds the default generator for itself; the caller's
/// thread count and generator state are the same after it, whether it finishes or throws.</summary>
public sealed class GlobalTorchStateTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("global-state-").FullName;
    public void Dispose() => Directory.Delete(root, recursive: true);

    private static ExperimentSpec Spec => new()
    {
        Name = "global-state",
        Model = ModelSpec.Llama(vocab: SparseParity.Vocabulary, width: 16, depth: 1, heads: 2) with { MaxSequenceLength = 32 },
        Task = new SparseParity { Bits = 8, Secret = 2 },
        Training = new TrainingSpec
        {
            Optimizer = new AdamW { Lr = 1e-2 },
            Budget = new StepBudget(2),
            GlobalBatch = 4,
            MicroBatch = 4,
            Eval = new EvalSpec { Every = 0, Batches = 1, Problems = 0 },
            Checkpoint = new CheckpointSpec { Every = 0, Keep = 1 },
            Seed = 5,
            Threads = 1,
        },
    };

    private static byte[] GeneratorState()
    {
        using var state = random.get_rng_state();
        return state.data<byte>().ToArray();
    }

    private static void AssertRestoredAfter(Action run)
    {
        var before = get_num_threads();
        var callerThreads = before == 2 ? 3 : 2; // not the spec's 1, not what the process started with
        try
        {
            set_num_threads(callerThreads);
            manual_seed(20260);
            using (randn(7)) { } // a generator part-way through its stream, not freshly seeded
            var state = GeneratorState();
            var expectedNext = Values(randn(5, dtype: ScalarType.Float64));
            random.set_rng_state(tensor(state, ScalarType.Byte));

            run();

            Assert.Equal(callerThreads, get_num_threads());
            Assert.Equal(state, GeneratorState());
            Assert.Equal(expectedNext, Values(randn(5, dtype: ScalarType.Float64)));
        }
        finally
        {
            set_num_threads(before);
        }
    }

    private static double[] Values(Tensor t) => t.data<double>().ToArray();

    [Fact]
    public void AFinishedRunLeavesTheCallersThreadCountAndGeneratorAsTheyWere() =>
        AssertRestoredAfter(() =>
        {
            var result = Trainer.Run(Spec, new TrainOptions { RunDirectory = Path.Combine(root, "finished") });
            Assert.Equal(2, result.TrainLosses.Count);
        });

    [Fact]
    public void ARunThatThrowsAfterSeedingStillRestoresThem() =>
        AssertRestoredAfter(() =>
        {
            var seeded = false;
            var error = Assert.Throws<InvalidOperationException>(() => Trainer.Run(Spec, new TrainOptions { RunDirectory = Path.Combine(root, "failed") },
                (_, _, _, _) =>
                {
                    // The model is built after the trainer set the thread count and the seed.
                    seeded = get_num_threads() == 1;
                    throw new InvalidOperationException("no model");
                }));
            Assert.Equal("no model", error.Message);
            Assert.True(seeded, "the run had set its own thread count before the failure");
        });
}
