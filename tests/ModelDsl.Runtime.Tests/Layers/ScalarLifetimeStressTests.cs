using TorchSharp;
using ModelDsl.Runtime.Layers;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tests.Layers;

/// <summary>
/// TorchSharp's Scalar frees its native value in a finalizer, and its tensor methods pass the handle to
/// libtorch without keeping the Scalar alive, so a temporary Scalar (x + 1e-6) can be finalized while the
/// op still reads it ("Unknown scalar type"). RMSNorm holds its Scalars; this test runs it, forward and
/// backward, on several threads while another thread forces collections and finalizers, and requires
/// every result to equal the single-threaded one bit for bit.
/// </summary>
public sealed class ScalarLifetimeStressTests
{
    [Fact]
    public void RmsNormSurvivesConcurrentFinalizationOnSeveralThreads()
    {
        const int threads = 4, iterations = 150;
        using var norm = new RmsNorm(64, 1e-6);
        using var input = randn([8, 16, 64], generator: new Generator(5));
        var (expectedOutput, expectedGrad) = ForwardBackward(norm, input);

        using var stop = new CancellationTokenSource();
        var collector = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                // Garbage Scalars for the finalizer to free while the workers' ops run.
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
                try
                {
                    var (output, grad) = ForwardBackward(norm, input);
                    if (!output.SequenceEqual(expectedOutput) || !grad.SequenceEqual(expectedGrad))
                        lock (failures) failures.Add($"iteration {i}: a result differs");
                }
                catch (Exception e)
                {
                    lock (failures) failures.Add($"iteration {i}: {e.Message}");
                }
            }
        })).ToArray();
        Task.WaitAll(workers);
        stop.Cancel();
        collector.Wait();
        Assert.Empty(failures);
    }

    /// <summary>The output and the input's gradient, as arrays (every tensor of the pass disposed).</summary>
    private static (float[] Output, float[] Grad) ForwardBackward(RmsNorm norm, Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = input.detach().requires_grad_(true);
        var y = norm.forward(x);
        y.square().sum().backward();
        return (y.detach().data<float>().ToArray(), x.grad!.data<float>().ToArray());
    }
}
