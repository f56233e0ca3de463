using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tests.Layers;

public sealed class TemporaryScalarExperiment
{
    [Fact]
    public void ImplicitTemporaryScalarsUnderConcurrentFinalization()
    {
        const int threads = 4, iterations = 3000;
        using var input = randn([4, 64], generator: new Generator(5));
        float[] Compute()
        {
            using var scope = NewDisposeScope();
            var y = input.pow(2.0).mul(0.5).add(1e-6).sub(3.0).div(7.0);
            return y.data<float>().ToArray();
        }
        var expected = Compute();
        using var stop = new CancellationTokenSource();
        var collector = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                for (var i = 0; i < 64; i++) _ = 0.5.ToScalar();
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        });
        var failures = new List<string>();
        var workers = Enumerable.Range(0, threads).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < iterations; i++)
            {
                try { if (!Compute().SequenceEqual(expected)) lock (failures) failures.Add("differs"); }
                catch (Exception e) { lock (failures) failures.Add(e.Message.Split('\n')[0]); }
            }
        })).ToArray();
        Task.WaitAll(workers);
        stop.Cancel();
        collector.Wait();
        Console.WriteLine($"EXPERIMENT: {failures.Count} failures of {threads * iterations}: {string.Join(" | ", failures.Distinct().Take(5))}");
        Assert.Empty(failures);
    }
}
