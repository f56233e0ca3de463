using System.Diagnostics;
using ModelDsl.Core;
using ModelDsl.Core.Model;
using ModelDsl.Runtime.Compile;
using TorchSharp;
using static TorchSharp.torch;

/// <summary>
/// Whole-model training step time (forward + cross-entropy loss + backward, batch 1, fp32), RoPE +
/// SDPA against PaTH (its defaults: low-rank w, short convolution, no forget gate), for the S, M and a
/// larger L config at several sequence lengths; a markdown table with the PaTH / RoPE ratio.
/// Each cell: one warm-up step, then the best of two (one when the warm-up took over 4 s), as wall time and as
/// the process's CPU time (all threads together; steadier than wall time when other processes compete,
/// and equal to it at one thread on a quiet machine).
/// </summary>
static class ScalingBench
{
    private static readonly (string Name, int Width, int Depth, int Heads)[] Configs =
    [
        ("S", 256, 4, 4),
        ("M", 512, 8, 8),
        ("L", 768, 12, 12),
    ];

    public static void Run(int threads, string[] configNames, int[] lengths)
    {
        torch.set_num_threads(threads);
        var total = Stopwatch.StartNew();
        var rows = new List<string>();
        foreach (var name in configNames)
        {
            var config = Configs.FirstOrDefault(c => c.Name == name);
            if (config.Name is null) throw new ArgumentException($"unknown config '{name}' (S, M or L)");
            foreach (var length in lengths)
            {
                var rope = StepSeconds(Spec(config, length, new Rope()), length);
                var path = StepSeconds(Spec(config, length, new PathPosition()), length);
                var row = $"| {config.Name} ({config.Width}w, {config.Depth}L, {config.Heads}H) | {length} | {rope.Wall * 1e3:F0} | {path.Wall * 1e3:F0} | {path.Wall / rope.Wall:F2} " +
                    $"| {rope.Cpu * 1e3:F0} | {path.Cpu * 1e3:F0} | {path.Cpu / rope.Cpu:F2} |";
                rows.Add(row);
                Console.Error.WriteLine($"{row} ({total.Elapsed.TotalSeconds:F0} s so far)");
            }
        }
        Console.WriteLine($"Training step (forward + loss + backward), batch 1, fp32, {threads} threads, vocab 4096; best of 2 after a warm-up (1 when the warm-up took over 4 s)");
        Console.WriteLine();
        Console.WriteLine("| config | T | RoPE+SDPA wall ms | PaTH wall ms | PaTH / RoPE wall | RoPE+SDPA CPU ms | PaTH CPU ms | PaTH / RoPE CPU |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var row in rows) Console.WriteLine(row);
        Console.WriteLine();
        Console.WriteLine($"total {total.Elapsed.TotalSeconds:F0} s");
    }

    private static ModelSpec Spec((string Name, int Width, int Depth, int Heads) config, int length, PositionSpec position) =>
        ModelSpec.Llama(vocab: 4096, width: config.Width, depth: config.Depth, heads: config.Heads) with
        {
            MaxSequenceLength = length,
            Blocks = ValueList.Repeat(new BlockSpec { Attention = new AttentionSpec { Heads = config.Heads, Position = position } }, config.Depth),
        };

    private static (double Wall, double Cpu) StepSeconds(ModelSpec spec, int length)
    {
        using var model = ModelCompiler.Build(spec, seed: 0);
        var tokens = torch.randint(0, spec.Vocab, [1, length + 1], dtype: ScalarType.Int64);
        var inputs = tokens[.., ..^1];
        var targets = tokens[.., 1..];
        (double Wall, double Cpu) Step()
        {
            using var scope = torch.NewDisposeScope();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            var logits = model.forward(inputs);
            var loss = nn.functional.cross_entropy(logits.reshape(-1, spec.Vocab), targets.reshape(-1));
            loss.backward();
            var seconds = (watch.Elapsed.TotalSeconds, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds);
            foreach (var parameter in model.parameters()) parameter.grad?.zero_();
            return seconds;
        }
        // Long steps (the larger configs at long T) are timed once after the warm-up, to bound the run.
        var warmUp = Step();
        var first = Step();
        if (warmUp.Wall > 4) return first;
        var second = Step();
        return (Math.Min(first.Wall, second.Wall), Math.Min(first.Cpu, second.Cpu));
    }
}
