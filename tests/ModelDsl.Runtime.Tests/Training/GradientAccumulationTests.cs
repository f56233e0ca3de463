using ModelDsl.Runtime.Tasks;
using ModelDsl.Runtime.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tests.Training;

public class GradientAccumulationTests
{
    private static Batch RandomBatch(Generator rng, int size, int length, int vocab, double keep) => new(
        randint(vocab, [size, length], generator: rng),
        randint(vocab, [size, length], generator: rng),
        (rand([size, length], generator: rng) < keep).to(ScalarType.Float32));

    private static Batch Concatenate(Batch a, Batch b) =>
        new(cat([a.Inputs, b.Inputs]), cat([a.Targets, b.Targets]), cat([a.LossMask, b.LossMask]));

    private static double[] Gradients(nn.Module m) =>
        m.parameters().SelectMany(p => p.grad!.data<double>().ToArray()).ToArray();

    /// <summary>Naive reference: -log softmax(logits)[target] per token, weighted by the mask, over the mask's total.</summary>
    private static double ReferenceLoss(nn.Module<Tensor, Tensor> model, Batch batch)
    {
        using var noGrad = no_grad();
        var logits = model.forward(batch.Inputs);
        var (size, length, vocab) = ((int)logits.shape[0], (int)logits.shape[1], (int)logits.shape[2]);
        var values = logits.data<double>().ToArray();
        var targets = batch.Targets.data<long>().ToArray();
        var mask = batch.LossMask.data<float>().ToArray();
        double sum = 0, count = 0;
        for (var i = 0; i < size * length; i++)
        {
            var row = values.AsSpan(i * vocab, vocab);
            var max = double.NegativeInfinity;
            foreach (var v in row) max = Math.Max(max, v);
            var logSum = 0.0;
            foreach (var v in row) logSum += Math.Exp(v - max);
            sum += mask[i] * (max + Math.Log(logSum) - row[(int)targets[i]]);
            count += mask[i];
        }
        return sum / count;
    }

    [Fact]
    public void AccumulatedMicroBatchesEqualOneLargeBatchEvenWithUnequalMasks()
    {
        var rng = new Generator(seed: 4);
        using var first = RandomBatch(rng, 3, 6, 5, keep: 0.9);
        using var second = RandomBatch(rng, 3, 6, 5, keep: 0.2); // far fewer counted tokens
        using var whole = Concatenate(first, second);
        var model = (TinyCausalModel)TinyCausalModel.Build(new ModelDsl.Core.Model.ModelSpec { Vocab = 5, Width = 8 }, ScalarType.Float64, CPU, 1).Module;

        var accumulatedLoss = GradientAccumulation.Backward(model, [first, second], CPU);
        var accumulated = Gradients(model);
        model.zero_grad();
        var singleLoss = GradientAccumulation.Backward(model, [whole], CPU);
        var single = Gradients(model);

        Assert.Equal(ReferenceLoss(model, whole), singleLoss, 12);
        Assert.Equal(singleLoss, accumulatedLoss, 12);
        Assert.Equal(single.Length, accumulated.Length);
        for (var i = 0; i < single.Length; i++) Assert.Equal(single[i], accumulated[i], 12);
        Assert.Contains(single, g => Math.Abs(g) > 1e-6);
    }
}
