// The ModelDsl side of the component profile (bench/trainer/torch_components.py is the PyTorch side;
// bench/trainer/components.sh alternates the two and prints one table). Each part of the Llama
// training step is timed alone with the shapes, strides and values it sees in the model: one forward
// without autograd on a random batch gives every part its real inputs, which it gets as fresh leaves
// (detached, so views keep their strides) that require gradients. The parts are the runtime's own
// modules taken from a compiled model (ModelCompiler.Build), and where a layer's Forward composes
// several steps (CausalSelfAttention, SwiGluFeedForward), the step is the layer's own code applied to
// its own submodules. Per part: the forward alone (autograd recording, as in training) and forward +
// backward (seeded with fixed random output gradients); gradients are dropped after every repetition,
// as the trainer does (ReleaseGradients). Medians over --reps after --warmup. Then a per-module
// forward breakdown of whole steps (Stopwatch around the module calls of LanguageModel.Run; CPU ops
// are synchronous), the rise of the resident set over a step, and the resident set at six points
// (the last after malloc_trim).
//   dotnet bench/ModelDsl.TrainerBench/bin/Release/net10.0/ModelDsl.TrainerBench.dll --components S [--reps 10] [--warmup 2] [--steps 5] [--threads 2] [--clock wall|cpu]
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using ModelDsl.Core.Model;
using ModelDsl.Runtime.Attention;
using ModelDsl.Runtime.Compile;
using ModelDsl.Runtime.Layers;
using ModelDsl.Runtime.Losses;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

internal static class Components
{
    public static void Run(string config, int reps, int warmup, int steps, int threads, string clock)
    {
        // Wall time, or the CPU time of this thread (clock_gettime(CLOCK_THREAD_CPUTIME_ID)): with one
        // torch thread, ops run on the calling thread, and its CPU time is their work even on a host
        // whose other load stretches wall time (the GC's and JIT's threads are not counted).
        Func<double> now = clock switch
        {
            "wall" => () => Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency,
            "cpu" => ProcessMemory.CpuSeconds,
            _ => throw new ArgumentException($"--clock {clock}: wall or cpu"),
        };
        var memoryStart = ProcessMemory.Read();
        var (width, depth, heads, seq, batch) = config switch
        {
            "S" => (256, 4, 4, 256, 8),
            "M" => (512, 8, 8, 512, 4),
            _ => throw new ArgumentException($"unknown config '{config}' (S or M)"),
        };
        const int vocab = 4096;
        set_num_threads(threads);
        using (var probe = ones(8, 8)) probe.mm(probe).Dispose();
        var memoryRuntime = ProcessMemory.Read();
        manual_seed(1);
        var spec = ModelSpec.Llama(vocab: vocab, width: width, depth: depth, heads: heads) with { MaxSequenceLength = seq, TiedHead = false };
        using var model = ModelCompiler.Build(spec, seed: 0);
        model.train();
        var memoryModel = ProcessMemory.Read();

        var generator = new Generator(3);
        var tokens = randint(0, 256, [batch, seq], dtype: ScalarType.Int64, generator: generator);
        var targets = randint(0, 256, [batch, seq], dtype: ScalarType.Int64, generator: generator);
        var mask = ones(batch, seq);
        var maskedTokens = (double)(batch * seq);
        using var divisor = maskedTokens.ToScalar();
        Tensor LossOf(Tensor logits) => MaskedCrossEntropy.Sum(logits, targets, mask) / divisor; // as GradientAccumulation

        var children = model.named_children().ToDictionary(c => c.name, c => c.module);
        var embedding = (Embedding)children["embedding"];
        var finalNorm = (nn.Module<Tensor, Tensor>)children["finalNorm"];
        var head = (Linear)children["head"];
        var block = model.Blocks[0];
        var attention = (CausalSelfAttention)block.Attention;
        var attentionParts = attention.named_children().ToDictionary(c => c.name, c => c.module);
        var qkv = (Linear)attentionParts["qkv"];
        var output = (Linear)attentionParts["output"];
        var rotary = ((DotProductAttentionCore)attention.Core).Rotary!;
        var feedForward = (SwiGluFeedForward)block.FeedForward;
        var feedForwardParts = feedForward.named_children().ToDictionary(c => c.name, c => c.module);
        var gateUp = (Linear)feedForwardParts["gateUp"];
        var down = (Linear)feedForwardParts["down"];
        var (h, kvh, d) = (attention.Heads, attention.KvHeads, attention.HeadDim);

        // CausalSelfAttention.Forward's steps, on its own submodules.
        Tensor[] HeadsOf(Tensor x)
        {
            var (b, t) = (x.shape[0], x.shape[1]);
            var parts = qkv.forward(x).split([h * d, kvh * d, kvh * d], -1);
            return [parts[0].view(b, t, h, d).transpose(1, 2), parts[1].view(b, t, kvh, d).transpose(1, 2), parts[2].view(b, t, kvh, d).transpose(1, 2)];
        }
        Tensor MergeHeads(Tensor y) => output.forward(y.transpose(1, 2).reshape(y.shape[0], y.shape[2], h * d));
        // SwiGluFeedForward.forward's gate: silu(gate) * up on the fused projection's halves.
        static Tensor SiluMul(Tensor gu)
        {
            var halves = gu.chunk(2, -1);
            return nn.functional.silu(halves[0]) * halves[1];
        }

        // The first training step's forward and backward, for the resident set after it.
        using (NewDisposeScope()) LossOf(model.Run(tokens).Logits).backward();
        DropGradients(model, []);
        var memoryStep1 = ProcessMemory.Read();

        // Every part's inputs, from one forward without autograd through block 0 (and all blocks for the head).
        Tensor x0, a, q, k, v, qr, kr, attended, o, f, gu, s, xl, fn, logits;
        using (no_grad())
        {
            x0 = embedding.forward(tokens);
            a = block.AttentionNorm.forward(x0);
            var qkvHeads = HeadsOf(a);
            (q, k, v) = (qkvHeads[0], qkvHeads[1], qkvHeads[2]);
            (qr, kr) = (rotary.forward(q, 0), rotary.forward(k, 0));
            attended = CausalAttention.Sdpa(qr, kr, v);
            o = MergeHeads(attended);
            f = block.FeedForwardNorm.forward(x0 + o);
            gu = gateUp.forward(f);
            s = SiluMul(gu);
            var x = x0;
            foreach (var each in model.Blocks) x = each.Forward(x, null, 0, new AuxiliaryLosses());
            xl = x;
            fn = finalNorm.forward(xl);
            logits = head.forward(fn);
        }
        static Tensor Leaf(Tensor t) => t.detach().requires_grad_(true);

        // name, times per step, leaves, the part. "whole:" rows are for reference: they contain the rows above them.
        var parts = new (string Name, int Count, Tensor[] Leaves, Func<Tensor[], Tensor[]> Part)[]
        {
            ("embedding", 1, [], _ => [embedding.forward(tokens)]),
            ("rmsnorm", 2 * depth, [Leaf(x0)], l => [block.AttentionNorm.forward(l[0])]),
            ("qkv projection", depth, [Leaf(a)], l => HeadsOf(l[0])),
            ("rope q,k", depth, [Leaf(q), Leaf(k)], l => [rotary.forward(l[0], 0), rotary.forward(l[1], 0)]),
            ("sdpa causal", depth, [Leaf(qr), Leaf(kr), Leaf(v)], l => [CausalAttention.Sdpa(l[0], l[1], l[2])]),
            ("o projection", depth, [Leaf(attended)], l => [MergeHeads(l[0])]),
            ("residual add", 2 * depth, [Leaf(x0), Leaf(o)], l => [l[0] + l[1]]),
            ("gate/up projection", depth, [Leaf(f)], l => [gateUp.forward(l[0])]),
            ("silu*mul", depth, [Leaf(gu)], l => [SiluMul(l[0])]),
            ("down projection", depth, [Leaf(s)], l => [down.forward(l[0])]),
            ("final norm", 1, [Leaf(xl)], l => [finalNorm.forward(l[0])]),
            ("lm head", 1, [Leaf(fn)], l => [head.forward(l[0])]),
            ("cross-entropy", 1, [Leaf(logits)], l => [LossOf(l[0])]),
            ("whole: attention", depth, [Leaf(a)], l => [block.Attention.Forward(l[0], null, 0)]),
            ("whole: feed-forward", depth, [Leaf(f)], l => [block.FeedForward.Forward(l[0], new AuxiliaryLosses())]),
            ("whole: block", depth, [Leaf(x0)], l => [block.Forward(l[0], null, 0, new AuxiliaryLosses())]),
            ("whole: model+loss", 1, [], _ => [LossOf(model.Run(tokens).Logits)]),
        };

        var seedGradients = new Generator(5);
        foreach (var (name, count, leaves, part) in parts)
        {
            Tensor[] gradients;
            using (NewDisposeScope())
                gradients = part(leaves).Select(r => (randn(r.shape, generator: seedGradients) * 1e-2).DetachFromDisposeScope()).ToArray();
            DropGradients(model, leaves);
            double Once(bool backward)
            {
                double seconds;
                using (NewDisposeScope())
                {
                    var start = now();
                    var results = part(leaves);
                    if (backward) autograd.backward(results, gradients);
                    seconds = now() - start;
                }
                DropGradients(model, leaves);
                return seconds;
            }
            var timings = new Dictionary<bool, double>();
            foreach (var backward in new[] { false, true })
            {
                for (var i = 0; i < warmup; i++) Once(backward);
                timings[backward] = Median(Enumerable.Range(0, reps).Select(_ => Once(backward)));
            }
            Emit(config, new() { ["Kind"] = "component", ["Clock"] = clock, ["Threads"] = threads, ["Name"] = name, ["Count"] = count, ["ForwardMs"] = timings[false] * 1e3, ["ForwardBackwardMs"] = timings[true] * 1e3 });
            foreach (var g in gradients) g.Dispose();
        }

        // Per-module forward times inside whole steps (forward with autograd, loss, backward), summed over
        // the layers: LanguageModel.Run's module calls, each timed, with the caches and allocator in their training state.
        string[] keys = ["embedding", "attention norm", "attention", "residual adds", "feed-forward norm", "feed-forward", "final norm", "lm head", "cross-entropy", "backward", "step"];
        var laps = new List<Dictionary<string, double>>();
        for (var step = 0; step < steps + 2; step++)
        {
            var lap = keys.ToDictionary(key => key, _ => 0.0);
            using (NewDisposeScope())
            {
                var begin = now();
                var last = begin;
                void Lap(string key)
                {
                    var time = now();
                    lap[key] += time - last;
                    last = time;
                }
                var losses = new AuxiliaryLosses();
                var x = embedding.forward(tokens);
                Lap("embedding");
                foreach (var each in model.Blocks)
                {
                    var normed = each.AttentionNorm.forward(x);
                    Lap("attention norm");
                    var attentionOut = each.Attention.Forward(normed, null, 0);
                    Lap("attention");
                    x = x + attentionOut;
                    Lap("residual adds");
                    normed = each.FeedForwardNorm.forward(x);
                    Lap("feed-forward norm");
                    var feedForwardOut = each.FeedForward.Forward(normed, losses);
                    Lap("feed-forward");
                    x = x + feedForwardOut;
                    Lap("residual adds");
                }
                x = finalNorm.forward(x);
                Lap("final norm");
                var stepLogits = head.forward(x);
                Lap("lm head");
                var loss = LossOf(stepLogits);
                Lap("cross-entropy");
                loss.backward();
                Lap("backward");
                lap["step"] = now() - begin;
            }
            DropGradients(model, []);
            if (step >= 2) laps.Add(lap);
        }
        foreach (var key in keys)
            Emit(config, new() { ["Kind"] = "step", ["Name"] = key, ["Ms"] = Median(laps.Select(l => l[key])) * 1e3 });

        // How far the resident set rises over a step above what is live before it (malloc_trim first,
        // so that memory malloc kept from earlier steps does not absorb the rise): as the trainer runs
        // it, one dispose scope for the step, and with every residual branch in a dispose scope of its
        // own that keeps only the branch's output, so that the intermediates autograd did not save are
        // freed when the branch returns (as Python frees them) rather than when the step ends.
        Tensor Scoped(Func<Tensor> call)
        {
            using var inner = NewDisposeScope();
            return call().MoveToOuterDisposeScope();
        }
        foreach (var scoped in new[] { false, true })
        {
            Tensor Branch(Func<Tensor> call) => scoped ? Scoped(call) : call();
            var rises = new List<double>();
            for (var step = 0; step < 4; step++)
            {
                ProcessMemory.Trim();
                ProcessMemory.ResetPeak();
                var resident = ProcessMemory.Read()["VmRSS"];
                using (NewDisposeScope())
                {
                    var losses = new AuxiliaryLosses();
                    var x = Branch(() => embedding.forward(tokens));
                    foreach (var each in model.Blocks)
                    {
                        var input = x;
                        x = Branch(() => input + each.Attention.Forward(each.AttentionNorm.forward(input), null, 0));
                        var middle = x;
                        x = Branch(() => middle + each.FeedForward.Forward(each.FeedForwardNorm.forward(middle), losses));
                    }
                    var last = x;
                    Branch(() => LossOf(head.forward(finalNorm.forward(last)))).backward();
                }
                DropGradients(model, []);
                if (step >= 1) rises.Add(ProcessMemory.Read()["VmHWM"] - resident);
            }
            Emit(config, new() { ["Kind"] = "peak", ["Name"] = scoped ? "branch scopes" : "step scope (trainer)", ["MiB"] = Median(rises) });
        }

        var memoryEnd = ProcessMemory.Read();
        ProcessMemory.Trim();
        Emit(config, new()
        {
            ["Kind"] = "memory",
            ["Memory"] = new Dictionary<string, object> { ["start"] = memoryStart, ["runtime"] = memoryRuntime, ["model"] = memoryModel, ["step1"] = memoryStep1, ["end"] = memoryEnd, ["trimmed"] = ProcessMemory.Read() },
        });
    }

    /// <summary>Drops the gradients of the model's parameters and of the leaves (the trainer's ReleaseGradients).</summary>
    private static void DropGradients(nn.Module model, Tensor[] leaves)
    {
        foreach (var p in model.parameters().Concat(leaves))
        {
            using var gradient = p.grad;
            if (gradient is not null) p.grad = null;
        }
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static void Emit(string config, Dictionary<string, object> fields)
    {
        var line = new Dictionary<string, object> { ["Impl"] = "modeldsl", ["Config"] = config };
        foreach (var (key, value) in fields) line[key] = value;
        Console.WriteLine(JsonSerializer.Serialize(line));
    }
}

/// <summary>This process's resident set from /proc/self/status (MiB): VmRSS now, VmHWM its peak so far,
/// RssAnon (heaps: libtorch's tensors, the GC heap) and RssFile (mapped files: libtorch, the .NET runtime);
/// glibc malloc's view (mallinfo2: MallocInUse, allocated chunks with the mmapped ones; MallocFree, freed
/// bytes it keeps); and the .NET GC's committed bytes.</summary>
internal static class ProcessMemory
{
    [StructLayout(LayoutKind.Sequential)]
    private struct MallInfo2
    {
        public nuint Arena, Ordblks, Smblks, Hblks, Hblkhd, Usmblks, Fsmblks, Uordblks, Fordblks, Keepcost;
    }

    [DllImport("libc.so.6", EntryPoint = "mallinfo2")]
    private static extern MallInfo2 MallInfo();

    [DllImport("libc.so.6", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    private struct Timespec
    {
        public long Seconds, Nanoseconds;
    }

    [DllImport("libc.so.6", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out Timespec time);

    /// <summary>CPU seconds of the calling thread (CLOCK_THREAD_CPUTIME_ID).</summary>
    public static double CpuSeconds()
    {
        ClockGetTime(3, out var time);
        return time.Seconds + time.Nanoseconds * 1e-9;
    }

    /// <summary>Returns glibc malloc's free memory to the system (malloc_trim(0)).</summary>
    public static void Trim() => MallocTrim(0);

    /// <summary>Restarts VmHWM from the current resident set (Linux's clear_refs 5).</summary>
    public static void ResetPeak() => File.WriteAllText("/proc/self/clear_refs", "5");

    public static Dictionary<string, double> Read()
    {
        var fields = new Dictionary<string, double>();
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            var colon = line.IndexOf(':');
            if (colon < 0) continue;
            var key = line[..colon];
            if (key is "VmRSS" or "VmHWM" or "RssAnon" or "RssFile")
                fields[key] = double.Parse(line[(colon + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024;
        }
        var info = MallInfo();
        fields["MallocInUse"] = (info.Uordblks + info.Hblkhd) / 1048576.0;
        fields["MallocFree"] = info.Fordblks / 1048576.0;
        fields["GcCommitted"] = GC.GetGCMemoryInfo().TotalCommittedBytes / 1048576.0;
        return fields;
    }
}
