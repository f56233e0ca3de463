using System.Diagnostics;
using ModelDsl.Core.Training;
using ModelDsl.Runtime.Optim;
using ModelDsl.Runtime.Parameters;
using TorchSharp;
using TorchSharp.Modules;
using static ModelDsl.Runtime.Tests.Optim.OptimTestSupport;
using static TorchSharp.torch;
using Xunit.Abstractions;

namespace ModelDsl.Runtime.Tests.Optim;

/// <summary>
/// An optimizer step must not hand libtorch a Scalar that the garbage collector may finalize during the
/// call (TorchSharp passes only the native handle; the Scalar's finalizer frees it). Several threads
/// (more than the machine's cores, so that they are preempted inside native calls) each train their own
/// copy of a small model while another thread forces collections and runs finalizers; every copy must
/// end bit for bit where the same training run alone ends, and no step may throw.
/// </summary>
public sealed class OptimizerScalarLifetimeTests(ITestOutputHelper output)
{
    private const int Steps = 12, Workers = 4;
    private static readonly TimeSpan StressTime = TimeSpan.FromSeconds(2);

    public static TheoryData<string> Names => new(Specs.Keys);

    private static readonly Dictionary<string, OptimizerSpec> Specs = new()
    {
        ["adamW"] = new Core.Training.AdamW { Lr = 0.01 },
        ["kron"] = new Kron { Lr = 0.01, FlatStart = 4, ProbabilityDecay = 0.2, MinUpdateProbability = 0.3 },
        ["muon"] = new Muon { Lr = 0.01 },
        ["soap"] = new Soap { Lr = 0.01, PreconditionFrequency = 3 },
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void StepsUnderConcurrentFinalizationEqualTheUndisturbedRun(string name)
    {
        var spec = Specs[name];
        var expected = Train(spec);

        using var stop = new CancellationTokenSource();
        var collector = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                // Garbage Scalars keep the finalizer thread busy freeing native values, as in a real run.
                for (var i = 0; i < 64; i++) _ = 0.5.ToScalar();
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        });
        var failures = new List<string>();
        var runs = 0;
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, Workers).Select(_ => Task.Run(() =>
        {
            while (clock.Elapsed < StressTime)
            {
                try
                {
                    var actual = Train(spec);
                    Interlocked.Increment(ref runs);
                    if (!actual.Zip(expected).All(pair => pair.First.SequenceEqual(pair.Second)))
                        lock (failures) failures.Add("the parameters differ from the undisturbed run");
                }
                catch (Exception e)
                {
                    lock (failures) failures.Add(e.Message.Split('\n')[0]);
                }
            }
        })).ToArray();
        Task.WaitAll(workers);
        stop.Cancel();
        collector.Wait();
        output.WriteLine($"{name}: {runs} stressed runs of {Steps} steps, {failures.Count} failures");
        Assert.True(runs >= Workers, $"only {runs} runs finished");
        Assert.True(failures.Count == 0, $"{failures.Count} of {runs + failures.Count} runs failed: {string.Join(" | ", failures.Distinct().Take(5))}");
    }

    /// <summary>Steps of <paramref name="spec"/> on fresh float32 parameters (a hidden matrix, an embedding, norm
    /// gains) with fixed pseudo-random gradients; returns the final parameters as bits.</summary>
    private static int[][] Train(OptimizerSpec spec)
    {
        using var scope = NewDisposeScope();
        long[][] shapes = [[24, 16], [16, 8], [16]];
        ParameterRole[] roles = [ParameterRole.HiddenMatrix, ParameterRole.Embedding, ParameterRole.Norm];
        string[] names = ["blocks.0.w", "embedding.weight", "norm.weight"];
        var parameters = shapes.Select((shape, i) => new NamedParameter(names[i],
            new Parameter(tensor(Pseudo((int)shape.Aggregate(1L, (a, b) => a * b), i), ScalarType.Float32).reshape(shape)), roles[i])).ToList();
        using var optimizer = OptimizerFactory.Create(spec, parameters, clipGradNorm: 1.0);
        for (var step = 0; step < Steps; step++)
        {
            for (var i = 0; i < parameters.Count; i++)
            {
                var p = parameters[i].Parameter;
                p.grad = tensor(Pseudo((int)p.numel(), 100 * step + i), ScalarType.Float32).reshape(p.shape);
            }
            optimizer.Step(1.0 - (double)step / Steps, StepContext.None);
        }
        return parameters.Select(p => p.Parameter.detach().contiguous().reshape(-1).data<float>().ToArray()
            .Select(BitConverter.SingleToInt32Bits).ToArray()).ToArray();
    }
}
