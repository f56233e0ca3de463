// PaTH attention kernels against RoPE + SDPA: forward+backward time and peak memory per sequence
// length, side by side in one run (batch 1, H = 4, d = 64, fp32, 2 threads by default), then the
// prefill (blockwise forward plus the carried keys a decoding cache needs) against the plain forward.
//   dotnet run -c Release --project bench/ModelDsl.PathBench [-- --threads 2 --lengths 256,512,1024,2048
//     --batch 1 --heads 4 --head-dim 64 --block 64 --naive-limit-mib 6000]
// Kernels: RoPE + SDPA; blockwise PaTH with its default backward (the handwritten reverse walk, linear
// memory); blockwise PaTH with the recomputing autograd backward; blockwise PaTH with autograd through
// its forward; the naive token-by-token reference.
// Whole-model training steps, RoPE + SDPA against PaTH, per config and sequence length:
//   dotnet run -c Release --project bench/ModelDsl.PathBench -- --scaling [--threads 2 --configs S,M,L --lengths 256,512,1024,2048]
// Memory: every (kernel, length) runs in its own child process (this program re-invoked with
// --child). The child loads libtorch and runs a small warm-up, reads VmRSS from /proc/self/status,
// runs one forward+backward at the measured length, then reads VmHWM (the peak resident set). The
// difference is the peak extra resident memory of that forward+backward, allocator slack included.
// Timing runs come after the memory run in the same child (median of several).
using System.Diagnostics;
using ModelDsl.Runtime.Kernels;
using TorchSharp;
using static TorchSharp.torch;
using ModelDsl.Runtime.Attention;

ModelDsl.Runtime.Native.HeapReuse.Enable(); // as every training run does: freed tensors are reused, not faulted in again (MODELDSL_MALLOC=system opts out)

string[] kernels = ["sdpa", "blockwise", "blockwise-recompute", "blockwise-autograd", "naive"];
string[] prefillKernels = ["blockwise-forward", "prefill", "naive-prefill"];

if (args.Contains("--quick"))
{
    // In one process, the kernels named by --kernels run in turn, several rounds; the best time of each
    // (robust to a busy machine, no memory figures).
    torch.set_num_threads(Arg("--threads", 2));
    var quickBlock = Arg("--block", PathAttentionBlockwise.DefaultBlockSize);
    var names = ArgString("--kernels", "sdpa,blockwise").Split(',');
    foreach (var length in ArgString("--lengths", "1024").Split(',').Select(int.Parse))
    {
        var runs = names.ToDictionary(n => n, n => Kernel(n, quickBlock));
        foreach (var n in names) using (var warm = NewDisposeScope()) runs[n](Inputs(length));
        var best = names.ToDictionary(n => n, _ => double.MaxValue);
        var bestCpu = names.ToDictionary(n => n, _ => double.MaxValue);
        for (var round = 0; round < Arg("--rounds", 5); round++)
            foreach (var n in names)
            {
                using var scope = NewDisposeScope();
                var inputs = Inputs(length);
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                var watch = Stopwatch.StartNew();
                runs[n](inputs);
                best[n] = Math.Min(best[n], watch.Elapsed.TotalMilliseconds);
                bestCpu[n] = Math.Min(bestCpu[n], (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds);
            }
        // CPU time (all threads together) is a steadier figure than wall time when other processes compete.
        Console.WriteLine($"T={length} wall: " + string.Join("  ", names.Select(n => $"{n} {best[n]:F1} ms ({best[n] / best[names[0]]:F2}x)")));
        Console.WriteLine($"T={length} cpu:  " + string.Join("  ", names.Select(n => $"{n} {bestCpu[n]:F1} ms ({bestCpu[n] / bestCpu[names[0]]:F2}x)")));
    }
    return;
}

if (args.Contains("--scaling"))
{
    ScalingBench.Run(Arg("--threads", 2), ArgString("--configs", "S,M,L").Split(','),
        ArgString("--lengths", "256,512,1024,2048").Split(',').Select(int.Parse).ToArray());
    return;
}

if (args.Length >= 1 && args[0] == "--child")
{
    Shape.Batch = int.Parse(args[5]);
    Shape.Heads = int.Parse(args[6]);
    Shape.HeadDim = int.Parse(args[7]);
    RunChild(args[1], int.Parse(args[2]), int.Parse(args[3]), int.Parse(args[4]));
    return;
}
Shape.Batch = Arg("--batch", 1);
Shape.Heads = Arg("--heads", 4);
Shape.HeadDim = Arg("--head-dim", 64);

var threads = Arg("--threads", 2);
var blockSize = Arg("--block", PathAttentionBlockwise.DefaultBlockSize);
var lengths = ArgString("--lengths", "256,512,1024,2048").Split(',').Select(int.Parse).ToArray();
// The naive reference keeps every intermediate key set for autograd: about 6 T^2 H d floats.
var naiveLimitBytes = (long)Arg("--naive-limit-mib", 6000) << 20;

Console.WriteLine($"PaTH attention forward+backward, batch {Shape.Batch}, {Shape.Heads} heads, head dim {Shape.HeadDim}, fp32, {threads} threads, block {blockSize}");
Console.WriteLine("blockwise = the handwritten reverse-walk backward (the default); recompute = autograd over recomputed groups of 4 query blocks; autograd = autograd through the forward");
Console.WriteLine("peak = VmHWM after one forward+backward minus VmRSS before it, in a fresh child process per cell");
Console.WriteLine();
var results = new Dictionary<(string, int), (double Ms, double PeakMiB)?>();
foreach (var length in lengths)
    foreach (var kernel in kernels)
    {
        if (kernel == "naive" && 6.0 * Shape.Batch * length * length * Shape.Heads * Shape.HeadDim * 4 > naiveLimitBytes)
        {
            results[(kernel, length)] = null;
            continue;
        }
        results[(kernel, length)] = Child(kernel, length, threads, blockSize);
    }
foreach (var length in lengths)
    foreach (var kernel in prefillKernels)
        results[(kernel, length)] = kernel == "naive-prefill" && length > 1024 ? null : Child(kernel, length, threads, blockSize);

Console.WriteLine($"{"T",6} | {"SDPA ms",8} {"MiB",7} | {"blockwise ms",12} {"MiB",7} | {"recompute ms",12} {"MiB",7} | {"autograd ms",11} {"MiB",7} | {"naive ms",9} {"MiB",7} | {"time / SDPA: blockwise",22} {"recompute",9} {"autograd",8} {"naive",6}");
foreach (var length in lengths)
{
    var sdpa = results[("sdpa", length)]!.Value;
    var block = results[("blockwise", length)]!.Value;
    var plain = results[("blockwise-autograd", length)]!.Value;
    var recompute = results[("blockwise-recompute", length)]!.Value;
    var naive = results[("naive", length)];
    var naiveCells = naive is { } n ? $"{n.Ms,9:F1} {n.PeakMiB,7:F1}" : $"{"skipped",9} {"",7}";
    var naiveRatio = naive is { } m ? $"{m.Ms / sdpa.Ms,6:F1}" : $"{"-",6}";
    Console.WriteLine($"{length,6} | {sdpa.Ms,8:F1} {sdpa.PeakMiB,7:F1} | {block.Ms,12:F1} {block.PeakMiB,7:F1} | {recompute.Ms,12:F1} {recompute.PeakMiB,7:F1} | {plain.Ms,11:F1} {plain.PeakMiB,7:F1} | {naiveCells} | {block.Ms / sdpa.Ms,22:F2} {recompute.Ms / sdpa.Ms,9:F2} {plain.Ms / sdpa.Ms,8:F2} {naiveRatio}");
}
Console.WriteLine();
Console.WriteLine("peak MiB per 1k tokens (flat = linear in T):");
foreach (var kernel in kernels)
    Console.WriteLine($"  {kernel,-9} " + string.Join("  ", lengths.Select(t => results[(kernel, t)] is { } r ? $"T={t}: {r.PeakMiB / t * 1024,7:F1}" : $"T={t}: skipped (estimated autograd memory over {naiveLimitBytes >> 20} MiB)")));

Console.WriteLine();
Console.WriteLine("prefill (no gradient): blockwise forward alone; prefill = blockwise forward + the carried keys for the cache; naive = the token-by-token recurrence");
Console.WriteLine($"{"T",6} | {"forward ms",10} | {"prefill ms",10} {"MiB",7} | {"naive ms",9} | {"prefill / forward",17}");
foreach (var length in lengths)
{
    var forward = results[("blockwise-forward", length)]!.Value;
    var prefill = results[("prefill", length)]!.Value;
    var naive = results[("naive-prefill", length)] is { } n ? $"{n.Ms,9:F1}" : $"{"skipped",9}";
    Console.WriteLine($"{length,6} | {forward.Ms,10:F1} | {prefill.Ms,10:F1} {prefill.PeakMiB,7:F1} | {naive} | {prefill.Ms / forward.Ms,17:F2}");
}

(double Ms, double PeakMiB) Child(string kernel, int length, int threads, int blockSize)
{
    var self = Environment.ProcessPath!;
    var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardError = true };
    // Under `dotnet Program.dll` the process path is the dotnet host; pass the assembly along.
    if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(System.Reflection.Assembly.GetEntryAssembly()!.Location);
    foreach (var a in new[] { "--child", kernel, length.ToString(), threads.ToString(), blockSize.ToString(),
                 Shape.Batch.ToString(), Shape.Heads.ToString(), Shape.HeadDim.ToString() }) start.ArgumentList.Add(a);
    using var process = Process.Start(start)!;
    var output = process.StandardOutput.ReadToEnd();
    var error = process.StandardError.ReadToEnd();
    process.WaitForExit();
    if (process.ExitCode != 0) throw new InvalidOperationException($"{kernel} T={length} failed: {error}");
    var parts = output.Trim().Split(' ');
    return (double.Parse(parts[0]), double.Parse(parts[1]));
}

static void RunChild(string kernel, int length, int threads, int blockSize)
{
    torch.set_num_threads(threads);
    torch.manual_seed(0);
    var run = Kernel(kernel, blockSize);
    // Warm-up at a small length loads libtorch's kernels and the JIT-compiled paths.
    using (var scope = NewDisposeScope()) run(Inputs(64));
    GC.Collect();
    long before, after;
    using (var scope = NewDisposeScope())
    {
        var inputs = Inputs(length);
        before = ProcStatusKiB("VmRSS");
        run(inputs);
        after = ProcStatusKiB("VmHWM");
    }
    var repeats = kernel.StartsWith("naive") ? 1 : length <= 512 ? 7 : 3;
    var times = new List<double>();
    for (var r = 0; r < repeats; r++)
    {
        using var scope = NewDisposeScope();
        var inputs = Inputs(length);
        var watch = Stopwatch.StartNew();
        run(inputs);
        times.Add(watch.Elapsed.TotalMilliseconds);
    }
    times.Sort();
    Console.WriteLine($"{times[times.Count / 2]:F3} {(after - before) / 1024.0:F3}");
}

static Action<Tensor[]> Kernel(string kernel, int blockSize)
{
    var scale = 1 / Math.Sqrt(Shape.HeadDim);
    RotaryEmbedding? rotary = kernel == "sdpa" ? new RotaryEmbedding(Shape.HeadDim, 4096, 10000) : null;
    return kernel switch
    {
        "sdpa" => x => Backward(CausalAttention.Sdpa(rotary!.forward(x[0], 0), rotary.forward(x[1], 0), x[2]), x),
        "blockwise" => x => Backward(PathAttentionBlockwise.Forward(x[0], x[1], x[2], x[3], x[4], null, scale, blockSize), x),
        "blockwise-autograd" => x => Backward(PathAttentionBlockwise.Forward(x[0], x[1], x[2], x[3], x[4], null, scale, blockSize, PathBackward.Autograd), x),
        "blockwise-recompute" => x => Backward(PathAttentionBlockwise.Forward(x[0], x[1], x[2], x[3], x[4], null, scale, blockSize, PathBackward.Recompute), x),
        "blockwise-forward" => x => { using var noGrad = torch.no_grad(); _ = PathAttentionBlockwise.Forward(x[0], x[1], x[2], x[3], x[4], null, scale, blockSize).sum().item<float>(); },
        "prefill" => x => { using var noGrad = torch.no_grad(); _ = PathAttentionPrefill.Forward(x[0], x[1], x[2], x[3], x[4], null, scale, blockSize).Keys.sum().item<float>(); },
        "naive-prefill" => x =>
        {
            using var noGrad = torch.no_grad();
            var (logits, keys) = PathAttentionNaive.TransformedLogits(x[0], x[1].new_zeros(x[1].shape[0], x[1].shape[1], 0, x[1].shape[3]), x[1], x[3], x[4]);
            _ = PathAttentionNaive.WeightedValues(PathAttentionNaive.ToProbabilities(logits, null, scale), x[2]).sum().item<float>();
        },
        "naive" => x => Backward(PathAttentionNaive.Forward(x[0], x[1], x[2], x[3], x[4], null, scale), x),
        _ => throw new ArgumentException($"unknown kernel '{kernel}' (sdpa, blockwise, blockwise-recompute, blockwise-autograd, naive, blockwise-forward, prefill, naive-prefill)"),
    };
}

static void Backward(Tensor output, Tensor[] inputs)
{
    output.sum().backward();
    foreach (var x in inputs) if (x.grad is { } g) _ = g.sum().item<float>();
}

static Tensor[] Inputs(int length)
{
    Tensor Leaf(Tensor t) => t.detach().requires_grad_(true);
    long[] shape = [Shape.Batch, Shape.Heads, length, Shape.HeadDim];
    var w = torch.randn(shape);
    return [Leaf(torch.randn(shape)), Leaf(torch.randn(shape)), Leaf(torch.randn(shape)), Leaf(w / w.norm(-1, keepdim: true)),
        Leaf(1.5 + 0.5 * torch.rand(Shape.Batch, Shape.Heads, length))];
}

static long ProcStatusKiB(string field)
{
    foreach (var line in File.ReadLines("/proc/self/status"))
        if (line.StartsWith(field + ":", StringComparison.Ordinal))
            return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0]);
    throw new InvalidOperationException($"/proc/self/status has no {field}");
}

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1]) : fallback;
}

string ArgString(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

/// <summary>The benchmarked shape (set from the arguments; the child receives it from the parent).</summary>
static class Shape
{
    public static int Batch = 1, Heads = 4, HeadDim = 64;
}
