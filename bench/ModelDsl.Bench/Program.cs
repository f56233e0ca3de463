// Training throughput of the foundation configs against the machine's own matmul roofline.
// Prints, for each config: tokens/s, achieved GFLOP/s (model FLOPs per token x tokens/s) and that
// figure as a fraction of a 1024x1024 fp32 matmul measured in the same run.
//   dotnet run -c Release --project bench/ModelDsl.Bench [-- --threads 2 --steps 6 --configs S,M]
using System.Diagnostics;
using ModelDsl.Core.Model;
using ModelDsl.Runtime.Compile;
using TorchSharp;
using static TorchSharp.torch;

ModelDsl.Runtime.Native.HeapReuse.Enable(); // as every training run does: freed tensors are reused, not faulted in again (MODELDSL_MALLOC=system opts out)

var threads = Arg("--threads", 2);
var steps = Arg("--steps", 6);
var configs = ArgString("--configs", "S,M").Split(',');
torch.set_num_threads(threads);
torch.manual_seed(0);

// The roofline is the best of several short matmul rounds, before and after the configs, so that
// a moment of interference from other processes does not flatter the model's fraction.
var matmulBefore = MatmulGflops(1024, rounds: 8, repeats: 10);

var rows = new List<(string Name, long Parameters, int Tokens, (long Parameters, double StepSeconds, double Forward, double Backward, double Optimizer, double TokensPerSecond, double Gflops) R)>();
foreach (var name in configs)
{
    var (spec, seq, batch) = name switch
    {
        "S" => (ModelSpec.Llama(vocab: 4096, width: 256, depth: 4, heads: 4) with { MaxSequenceLength = 256 }, 256, 8),
        "M" => (ModelSpec.Llama(vocab: 4096, width: 512, depth: 8, heads: 8) with { MaxSequenceLength = 512 }, 512, 4),
        _ => throw new ArgumentException($"unknown config '{name}' (S or M)"),
    };
    rows.Add((name, 0, seq * batch, TrainStep(spec, seq, batch, steps)));
}
var matmul = Math.Max(matmulBefore, MatmulGflops(1024, rounds: 8, repeats: 10));
Console.WriteLine($"threads {threads}; 1024x1024 fp32 matmul (best round): {matmul:F1} GFLOP/s, the roofline below");
Console.WriteLine();
Console.WriteLine($"{"config",-6} {"params",10} {"tokens/step",11} {"step ms",9} {"fwd/bwd/opt ms",16} {"tokens/s",10} {"GFLOP/s",9} {"of matmul",9}");
foreach (var (name, _, tokensPerStep, r) in rows)
{
    var phases = $"{r.Forward * 1e3:F0}/{r.Backward * 1e3:F0}/{r.Optimizer * 1e3:F0}";
    Console.WriteLine($"{name,-6} {r.Parameters,10:N0} {tokensPerStep,11} {r.StepSeconds * 1e3,9:F0} {phases,16} {r.TokensPerSecond,10:F0} {r.Gflops,9:F1} {r.Gflops / matmul,9:P0}");
}

static (long Parameters, double StepSeconds, double Forward, double Backward, double Optimizer, double TokensPerSecond, double Gflops) TrainStep(ModelSpec spec, int seq, int batch, int steps)
{
    using var model = ModelCompiler.Build(spec, seed: 0);
    var parameters = model.parameters().ToList();
    using var optimizer = torch.optim.AdamW(parameters, lr: 1e-4, weight_decay: 0.1);
    var tokens = torch.randint(0, spec.Vocab, [batch, seq + 1], dtype: ScalarType.Int64);
    var inputs = tokens[.., ..^1];
    var targets = tokens[.., 1..];
    // One training step, timed by phase: forward (with the loss), backward, optimizer.
    (double Total, double Forward, double Backward, double Optimizer) Step()
    {
        using var scope = torch.NewDisposeScope();
        var sw = Stopwatch.StartNew();
        optimizer.zero_grad();
        var logits = model.forward(inputs);
        var loss = nn.functional.cross_entropy(logits.reshape(-1, spec.Vocab), targets.reshape(-1));
        var forward = sw.Elapsed.TotalSeconds;
        loss.backward();
        var backward = sw.Elapsed.TotalSeconds;
        optimizer.step();
        var total = sw.Elapsed.TotalSeconds;
        return (total, forward, backward - forward, total - backward);
    }
    Step(); Step(); // warm-up: allocator and kernel selection
    var runs = Enumerable.Range(0, steps).Select(_ => Step()).OrderBy(t => t.Total).ToArray();
    var median = runs[runs.Length / 2];
    var tokensPerSecond = batch * seq / median.Total;
    return (model.ParameterCount, median.Total, median.Forward, median.Backward, median.Optimizer, tokensPerSecond,
        model.TrainingFlopsPerToken(seq) * tokensPerSecond / 1e9);
}

static double MatmulGflops(int n, int rounds, int repeats)
{
    using var scope = torch.NewDisposeScope();
    var a = torch.randn(n, n);
    var b = torch.randn(n, n);
    for (var i = 0; i < 3; i++) torch.matmul(a, b).Dispose();
    var best = 0.0;
    for (var round = 0; round < rounds; round++)
    {
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < repeats; i++) torch.matmul(a, b).Dispose();
        best = Math.Max(best, 2.0 * n * n * n * repeats / sw.Elapsed.TotalSeconds / 1e9);
    }
    return best;
}

int Arg(string flag, int fallback) => int.TryParse(ArgString(flag, ""), out var v) ? v : fallback;
string ArgString(string flag, string fallback)
{
    var i = Array.IndexOf(args, flag);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
