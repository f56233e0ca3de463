using System.Diagnostics;
using TorchSharp;
using Xunit.Abstractions;

namespace ModelDsl.Runtime.Tests.Layers;

/// <summary>
/// Runs a computation again and again on several threads while other threads force young-generation
/// collections and run finalizers, and asserts every result equals the undisturbed one bit for bit and no
/// call throws. It catches a Scalar handed to libtorch that the garbage collector may finalize during the
/// call (TorchSharp passes only the native handle; see Runtime's Layers/HeldScalars). The race is
/// probabilistic: passing does not prove its absence.
/// </summary>
public static class FinalizerStress
{
    // Eight workers and three collectors: on the two to four cores of a test machine the workers are often
    // preempted inside native calls, and a young-generation collection (quick, so that many run while a
    // worker waits) may start and finalize in that time. The warm-up lets the JIT optimise TorchSharp's
    // methods first (unoptimised code keeps arguments alive to the end of the method).
    // MODELDSL_SCALAR_STRESS_SECONDS sets the stress period.
    private const int Workers = 8, Collectors = 3;
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(0.5);
    private static readonly TimeSpan StressTime =
        TimeSpan.FromSeconds(double.Parse(Environment.GetEnvironmentVariable("MODELDSL_SCALAR_STRESS_SECONDS") ?? "2", System.Globalization.CultureInfo.InvariantCulture));

    /// <param name="compute">The computation; returns its results as bits.</param>
    /// <param name="label">Names the case in the output and the failure message.</param>
    public static void AssertStable(Func<int[][]> compute, string label, ITestOutputHelper output)
    {
        var expected = compute();
        // Dedicated threads, not pool tasks: the pool would start the later ones only after seconds.
        var stop = false;
        var clock = Stopwatch.StartNew();
        var collectors = Enumerable.Range(0, Collectors).Select(_ => new Thread(() =>
        {
            while (clock.Elapsed < WarmUp) Thread.Sleep(10);
            while (!Volatile.Read(ref stop))
            {
                // Garbage Scalars keep the finalizer thread busy freeing native values, as in a real run.
                for (var i = 0; i < 64; i++) 0.5.ToScalar();
                GC.Collect(0);
                GC.WaitForPendingFinalizers();
            }
        })).ToList();
        var failures = new List<string>();
        var runs = 0;
        var workers = Enumerable.Range(0, Workers).Select(_ => new Thread(() =>
        {
            do
            {
                try
                {
                    if (!compute().Zip(expected).All(pair => pair.First.SequenceEqual(pair.Second)))
                        lock (failures) failures.Add("the results differ from the undisturbed run");
                }
                catch (Exception e)
                {
                    lock (failures) failures.Add(e.Message.Split('\n')[0]);
                }
                Interlocked.Increment(ref runs);
            } while (clock.Elapsed < WarmUp + StressTime);
        })).ToList();
        collectors.ForEach(t => t.Start());
        workers.ForEach(t => t.Start());
        workers.ForEach(t => t.Join());
        Volatile.Write(ref stop, true);
        collectors.ForEach(t => t.Join());
        output.WriteLine($"{label}: {runs} stressed runs, {failures.Count} failed");
        Assert.True(failures.Count == 0, $"{label}: {failures.Count} of {runs} runs failed: {string.Join(" | ", failures.Distinct().Take(5))}");
    }
}
