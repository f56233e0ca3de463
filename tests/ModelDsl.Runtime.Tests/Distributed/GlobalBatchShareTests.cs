using ModelDsl.Core.Model;
using ModelDsl.Core.Tasks;
using ModelDsl.Runtime.Compile;
using ModelDsl.Runtime.Distributed;
using ModelDsl.Runtime.Tasks;
using ModelDsl.Runtime.Training;
using Xunit;
using static TorchSharp.torch;
using TaskFactory = ModelDsl.Runtime.Tasks.TaskFactory;

namespace ModelDsl.Runtime.Tests.Distributed;

/// <summary>
/// The arithmetic of data parallelism without MPI: the replicas' shares of a global batch, each
/// backpropagated with the global denominators, sum to the single-process loss and gradient.
/// </summary>
public sealed class GlobalBatchShareTests
{
    private static (Tensor[] Gradients, AccumulatedLoss Loss) Backward(LanguageModelBuild build, GlobalBatchShare share)
    {
        foreach (var p in build.Parameters) p.grad = null;
        var loss = GradientAccumulation.BackwardWithAuxiliary(build.Model, share, CPU);
        return (build.Parameters.Select(p => p.grad!.clone()).ToArray(), loss);
    }

    private sealed record LanguageModelBuild(ModelDsl.Runtime.Model.LanguageModel Model, IReadOnlyList<TorchSharp.Modules.Parameter> Parameters);

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void ReplicaSharesSumToTheSingleProcessLossAndGradient(int replicas)
    {
        using var scope = NewDisposeScope();
        var spec = ModelSpec.Llama(vocab: FlipFlop.Vocabulary, width: 16, depth: 1, heads: 2);
        using var model = ModelCompiler.Build(spec, ScalarType.Float64, seed: 7);
        var build = new LanguageModelBuild(model, model.parameters().ToList());
        var task = TaskFactory.Create(new FlipFlop(), 5);
        var microBatches = Enumerable.Range(0, 3).Select(m => task.TrainBatch(2, m, 4)).ToList();

        var (whole, wholeLoss) = Backward(build, GlobalBatchShare.Whole(microBatches));
        var sums = whole.Select(g => zeros_like(g)).ToArray();
        var lossSum = 0.0;
        for (var r = 0; r < replicas; r++)
        {
            var share = GlobalBatchShare.Of(microBatches, r, replicas);
            Assert.Equal(3 * replicas, share.AuxiliaryDivisor);
            Assert.All(share.Local, b => Assert.Equal(4 / replicas, b.Inputs.shape[0]));
            var (gradients, loss) = Backward(build, share);
            for (var i = 0; i < sums.Length; i++) sums[i] += gradients[i];
            lossSum += loss.LanguageModel;
        }

        Assert.Equal(wholeLoss.LanguageModel, lossSum, 1e-12);
        for (var i = 0; i < whole.Length; i++)
        {
            var error = (sums[i] - whole[i]).abs().max().item<double>();
            var scale = whole[i].abs().max().item<double>();
            Assert.True(error <= 1e-12 * Math.Max(scale, 1e-30) + 1e-300, $"parameter {i}: max error {error:G3} at scale {scale:G3}");
        }
    }

    [Fact]
    public void ReplicasTakeDisjointRowsThatTogetherAreTheMicroBatch()
    {
        using var scope = NewDisposeScope();
        var task = TaskFactory.Create(new FlipFlop(), 5);
        var batch = task.TrainBatch(0, 0, 6);
        var parts = Enumerable.Range(0, 3).Select(r => GlobalBatchShare.Of([batch], r, 3).Local[0]).ToList();
        Assert.True(cat(parts.Select(p => p.Inputs).ToList(), 0).eq(batch.Inputs).all().item<bool>());
        Assert.True(cat(parts.Select(p => p.LossMask).ToList(), 0).eq(batch.LossMask).all().item<bool>());
        var whole = GlobalBatchShare.Whole([batch]);
        Assert.All(parts.Select((_, r) => GlobalBatchShare.Of([batch], r, 3)), s => Assert.Equal(whole.MaskedTokens, s.MaskedTokens));
    }

    [Fact]
    public void AMicroBatchThatDoesNotSplitEvenlyIsRefusedNamingTheField()
    {
        using var scope = NewDisposeScope();
        var batch = TaskFactory.Create(new FlipFlop(), 5).TrainBatch(0, 0, 5);
        var error = Assert.Throws<InvalidOperationException>(() => GlobalBatchShare.Of([batch], 0, 2));
        Assert.Contains("training.microBatch", error.Message);
    }
}
