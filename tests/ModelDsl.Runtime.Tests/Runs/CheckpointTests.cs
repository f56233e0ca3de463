using ModelDsl.Runtime.Optim;
using ModelDsl.Runtime.Runs;
using TorchSharp;
using static TorchSharp.torch;
using ModelDsl.Runtime.Parameters;

namespace ModelDsl.Runtime.Tests.Runs;

public sealed class CheckpointTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("checkpoints-").FullName;
    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static (TorchSharp.Modules.Linear Model, IOptimizer Optimizer) TrainedLinear(long seed, int steps)
    {
        manual_seed(seed);
        var model = nn.Linear(4, 3);
        var parameters = model.named_parameters()
            .Select(p => new NamedParameter(p.name, p.parameter, p.parameter.dim() == 2 ? ParameterRole.HiddenMatrix : ParameterRole.Bias)).ToList();
        var optimizer = OptimizerFactory.Create(new ModelDsl.Core.Training.AdamW { Lr = 0.01 }, parameters, clipGradNorm: null);
        for (var i = 0; i < steps; i++)
        {
            optimizer.ZeroGrad();
            using var loss = model.forward(ones(2, 4) * (i + 1)).square().sum();
            loss.backward();
            optimizer.Step(1.0, StepContext.None);
        }
        return (model, optimizer);
    }

    private static float[] Weights(nn.Module m) => m.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();

    private static float[] StepOnce(TorchSharp.Modules.Linear model, IOptimizer optimizer)
    {
        optimizer.ZeroGrad();
        using var loss = model.forward(ones(2, 4)).square().sum();
        loss.backward();
        optimizer.Step(1.0, StepContext.None);
        return Weights(model);
    }

    [Fact]
    public void RoundTripRestoresWeightsAndOptimizerStateExactly()
    {
        var (model, optimizer) = TrainedLinear(1, 3);
        var path = Path.Combine(directory, "a.ckpt");
        Checkpoint.Save(path, new CheckpointHeader(3, "{\"name\":\"x\"}", [1.5, 1.25, 1.0], 2.0), model, optimizer);

        var (restored, restoredOptimizer) = TrainedLinear(2, 0); // different weights, fresh moments
        Assert.NotEqual(Weights(model), Weights(restored));
        var header = Checkpoint.Load(path, restored, restoredOptimizer, "{ \"name\": \"x\" }");
        Assert.Equal(3, header.Step);
        Assert.Equal([1.5, 1.25, 1.0], header.TrainLosses);
        Assert.Equal(Weights(model), Weights(restored));
        // Identical next updates prove the AdamW moments and step counts came back too.
        Assert.Equal(StepOnce(model, optimizer), StepOnce(restored, restoredOptimizer));
    }

    [Fact]
    public void CorruptTruncatedAndForeignFilesAreRejectedNamingTheFile()
    {
        var (model, optimizer) = TrainedLinear(1, 1);
        var path = Path.Combine(directory, "b.ckpt");
        Checkpoint.Save(path, new CheckpointHeader(1, "{}", [1.0], 0), model, optimizer);
        var good = File.ReadAllBytes(path);

        var flipped = good.ToArray();
        flipped[^10] ^= 0x40;
        File.WriteAllBytes(path, flipped);
        var corrupt = Assert.Throws<CheckpointException>(() => Checkpoint.Load(path, model, optimizer));
        Assert.Contains(path, corrupt.Message);
        Assert.Contains("checksum", corrupt.Message);

        File.WriteAllBytes(path, good[..(good.Length / 2)]);
        var truncated = Assert.Throws<CheckpointException>(() => Checkpoint.Load(path, model, optimizer));
        Assert.Contains(path, truncated.Message);
        Assert.Contains("truncated", truncated.Message);

        File.WriteAllText(path, "hello");
        Assert.Contains("not a checkpoint", Assert.Throws<CheckpointException>(() => Checkpoint.Load(path, model, optimizer)).Message);

        File.WriteAllBytes(path, good);
        var mismatch = Assert.Throws<CheckpointException>(() => Checkpoint.Load(path, model, optimizer, "{\"model\":1}"));
        Assert.Contains(path, mismatch.Message);
        Assert.Contains("different spec", mismatch.Message);

        using var wider = nn.Linear(5, 3);
        var shape = Assert.Throws<CheckpointException>(() => Checkpoint.Load(path, wider, null));
        Assert.Contains(path, shape.Message);
    }

    [Fact]
    public void FailedWriteLeavesThePreviousCheckpointIntactAndNoTemporaryFiles()
    {
        var (model, optimizer) = TrainedLinear(1, 2);
        var path = Path.Combine(directory, "c.ckpt");
        Checkpoint.Save(path, new CheckpointHeader(2, "{}", [], 0), model, optimizer);
        var before = File.ReadAllBytes(path);

        Assert.Throws<IOException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write(new byte[1000]);
            throw new IOException("disk full");
        }));

        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(2, Checkpoint.ReadHeader(path).Step);
        Assert.Equal(["c.ckpt"], Directory.GetFiles(directory).Select(Path.GetFileName));
    }

    [Fact]
    public void StoreKeepsTheNewestAndSkipsCorruptOnes()
    {
        var (model, optimizer) = TrainedLinear(1, 1);
        var store = new CheckpointStore(directory, keep: 2);
        foreach (var step in new long[] { 5, 10, 15 }) store.Save(new CheckpointHeader(step, "{}", [], 0), model, optimizer);
        Assert.Equal([10L, 15L], store.List().Select(c => c.Step));
        Assert.Equal(store.PathFor(15), store.LatestValid(out var none));
        Assert.Empty(none);

        var newest = store.PathFor(15);
        File.WriteAllBytes(newest, File.ReadAllBytes(newest)[..100]);
        Assert.Equal(store.PathFor(10), store.LatestValid(out var skipped));
        Assert.Contains(newest, Assert.Single(skipped));
    }
}
