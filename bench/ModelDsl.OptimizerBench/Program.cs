// Optimizer step time of every optimizer as a ratio to AdamW's, on the foundation benchmark's M
// config (vocab 4096, width 512, 8 layers, 8 heads, sequence 512, batch 4), side by side in one run,
// and the optimizer's share of a full training step (forward + backward + optimizer).
//   dotnet run -c Release --project bench/ModelDsl.OptimizerBench [-- --threads 2 --steps 5 --optimizers adamW,muon --profile]
// --profile adds where Muon's time goes: the dense float32 matmul rate of this machine, and Newton-Schulz over all of
// Muon's matrices batched by shape and matrix by matrix (the per-matrix loop the batched form replaced), with its GFLOP.
// Every optimizer steps from the same gradients and weights (one backward pass; weights reset after each step). "step ms" is the median step;
// "mean ms" the mean over the timed steps, which includes periodic work that falls inside them (SOAP's
// basis refresh every 10 steps needs --steps >= 10 to be seen; its first, eigendecomposing step is a
// warm-up step and not timed). Sophia-H's Hessian-vector product (every k steps) is timed separately
// and amortised over k in its own column.
using System.Diagnostics;
using ModelDsl.Core.Model;
using ModelDsl.Core.Training;
using ModelDsl.Runtime.Optim;
using ModelDsl.Runtime.Tasks;
using ModelDsl.Runtime.Training;
using TorchSharp;
using static TorchSharp.torch;

ModelDsl.Runtime.Native.HeapReuse.Enable(); // as every training run does: freed tensors are reused, not faulted in again (MODELDSL_MALLOC=system opts out)

var threads = Arg("--threads", 2);
var steps = Arg("--steps", 5);
var warmup = Arg("--warmup", 2);
var profile = args.Contains("--profile");
var names = ArgString("--optimizers", "adamW,nAdamW,mars,cautious,lion,adamMini,muon,scion,soap,sophiaH,kron").Split(',');
torch.set_num_threads(threads);
torch.manual_seed(0);

var spec = ModelSpec.Llama(vocab: 4096, width: 512, depth: 8, heads: 8) with { MaxSequenceLength = 512 };
const int Sequence = 512, BatchSize = 4;
var model = Trainer.BuildLanguageModel(spec, ScalarType.Float32, CPU, 0);
var tokens = torch.randint(0, spec.Vocab, [BatchSize, Sequence + 1], dtype: ScalarType.Int64);
var batch = new Batch(tokens[.., ..^1], tokens[.., 1..], torch.ones(BatchSize, Sequence, dtype: ScalarType.Int64));
var parameters = model.Parameters.Select(p => (Tensor)p.Parameter).ToList();

// Forward + backward of one step (median), leaving the gradients every optimizer then steps from.
var forwardBackward = Median(Enumerable.Range(0, 3).Select(_ =>
{
    foreach (var p in parameters) p.grad = null;
    var sw = Stopwatch.StartNew();
    GradientAccumulation.Backward(model.Module, [batch], CPU);
    return sw.Elapsed.TotalSeconds;
}).ToList());
var gradients = parameters.Select(p => p.grad!.clone()).ToList();
var initial = parameters.Select(p => p.detach().clone()).ToList();

// Round robin: each round steps every optimizer once, so that interference from other processes on a
// shared machine falls on all optimizers alike; each keeps its own state across rounds.
var optimizers = names.Select(name => (Name: name, Spec: Spec(name),
    Optimizer: OptimizerFactory.Create(Spec(name), model.Parameters, clipGradNorm: 1.0), Times: new List<double>())).ToList();
double? hessianSeconds = null;
var context = new StepContext(vectors =>
{
    var sw = Stopwatch.StartNew();
    var product = GradientAccumulation.HessianVectorProduct(model.Module, [batch], CPU, parameters, vectors);
    hessianSeconds = sw.Elapsed.TotalSeconds;
    return product;
});
for (var round = 0; round < warmup + steps; round++)
{
    foreach (var (name, _, optimizer, times) in optimizers)
    {
        // Releases the gradient copies and step temporaries now: native memory is invisible to the GC.
        using var scope = torch.NewDisposeScope();
        for (var j = 0; j < parameters.Count; j++) parameters[j].grad = gradients[j].clone();
        var needsHessian = optimizer.NeedsHessianVectorProduct;
        var sw = Stopwatch.StartNew();
        optimizer.Step(1.0, context);
        var seconds = sw.Elapsed.TotalSeconds;
        if (needsHessian && hessianSeconds is { } h) seconds -= h; // reported separately, amortised over k
        if (round >= warmup) times.Add(seconds);
        using (torch.no_grad()) for (var j = 0; j < parameters.Count; j++) parameters[j].copy_(initial[j]);
    }
    Console.Error.WriteLine($"round {round + 1}: " + string.Join(", ", optimizers.Select(o => $"{o.Name} {(o.Times.Count > 0 ? o.Times[^1] * 1e3 : double.NaN):F0}")));
}
var rows = optimizers.Select(o => (o.Name, Median: Median(o.Times), Mean: o.Times.Average(),
    Amortised: o.Spec is SophiaH sophia && hessianSeconds is { } hvp ? Median(o.Times) + hvp / sophia.HessianInterval : (double?)null)).ToList();
foreach (var o in optimizers) o.Optimizer.Dispose();
if (hessianSeconds is { } hv) Console.WriteLine($"Sophia-H Hessian-vector product (double backward): {hv * 1e3:F0} ms");

var adam = rows.Single(r => r.Name == "adamW").Median;
Console.WriteLine($"M config ({model.ParameterCount:N0} parameters), threads {threads}, {steps} timed steps after {warmup} warm-up; forward+backward {forwardBackward * 1e3:F0} ms");
Console.WriteLine();
Console.WriteLine($"| {"optimizer",-9} | {"step ms",8} | {"mean ms",8} | {"x AdamW",8} | {"share of train step",19} |");
Console.WriteLine($"|{new string('-', 11)}|{new string('-', 10)}|{new string('-', 10)}|{new string('-', 10)}|{new string('-', 21)}|");
foreach (var (name, median, mean, amortised) in rows)
{
    var step = amortised ?? median;
    var label = amortised is null ? $"{step / (forwardBackward + step),19:P1}" : $"{step / (forwardBackward + step),8:P1} (with Hv)";
    Console.WriteLine($"| {name,-9} | {median * 1e3,8:F0} | {mean * 1e3,8:F0} | {median / adam,8:F2} | {label,19} |");
    if (amortised is { } a) Console.WriteLine($"|   + Hv/k  | {a * 1e3,8:F0} |          | {a / adam,8:F2} |                     |");
}

if (profile) Profile();

// Newton-Schulz alone on Muon's matrices (the gradients as updates), batched and per matrix, and the machine's matmul rate.
void Profile()
{
    using var scope = torch.NewDisposeScope();
    using var noGrad = torch.no_grad();
    var matrices = model.Parameters.Where(MuonOptimizer.IsMatrix).ToList();
    var items = matrices.Select(p => new BatchedNewtonSchulz.Item(p.Parameter.grad!, p.RowBlocks)).ToList();
    // Per matrix [rows <= cols after transposition]: 5 steps of X X^T (2 m^2 n), A^2 (2 m^3), P X (2 m^2 n) flops.
    var flops = matrices.SelectMany(p => (p.RowBlocks ?? [p.Parameter.shape[^2]]).Select(rows =>
    {
        var (m, n) = (Math.Min(rows, p.Parameter.shape[^1]), Math.Max(rows, p.Parameter.shape[^1]));
        return 5.0 * (4.0 * m * m * n + 2.0 * m * m * m) * (p.Parameter.numel() / (p.Parameter.shape[^2] * p.Parameter.shape[^1]));
    })).Sum();
    double Time(Action action)
    {
        action();
        return Median(Enumerable.Range(0, 3).Select(_ => { var sw = Stopwatch.StartNew(); action(); return sw.Elapsed.TotalSeconds; }).ToList());
    }
    var a = torch.randn(32, 512, 512);
    var bmm = Time(() => { using var _ = a.bmm(a); });
    var batched = Time(() => { using var inner = torch.NewDisposeScope(); BatchedNewtonSchulz.OrthogonalizeBlocks(items, 5); });
    var single = Time(() => { using var inner = torch.NewDisposeScope(); foreach (var i in items) NewtonSchulz.OrthogonalizeBlocks(i.Update, i.RowBlocks, 5); });
    Console.WriteLine();
    Console.WriteLine($"float32 bmm [32, 512, 512]^2: {2.0 * 32 * 512 * 512 * 512 / bmm / 1e9:F0} GFLOP/s");
    Console.WriteLine($"Newton-Schulz, Muon's {matrices.Count} matrices, {flops / 1e9:F0} GFLOP: batched {batched * 1e3:F0} ms ({flops / batched / 1e9:F0} GFLOP/s), per matrix {single * 1e3:F0} ms");
}

static OptimizerSpec Spec(string name) => name switch
{
    "adamW" => new ModelDsl.Core.Training.AdamW(),
    "nAdamW" => new NAdamW(),
    "mars" => new Mars(),
    "cautious" => new Cautious(),
    "lion" => new Lion(),
    "adamMini" => new AdamMini(),
    "muon" => new Muon(),
    "scion" => new Scion(),
    "soap" => new Soap(),
    "sophiaH" => new SophiaH(),
    "kron" => new Kron(),
    _ => throw new ArgumentException($"unknown optimizer '{name}'"),
};

static double Median(List<double> values) => values.OrderBy(v => v).ElementAt(values.Count / 2);
int Arg(string flag, int fallback) => int.TryParse(ArgString(flag, ""), out var v) ? v : fallback;
string ArgString(string flag, string fallback)
{
    var i = Array.IndexOf(args, flag);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
