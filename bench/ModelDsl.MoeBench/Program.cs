// Tokens/s of one mixture-of-experts feed-forward (8 SwiGLU experts, top-2, dropless) against a dense
// SwiGLU with the same active parameters (hidden = k * expert hidden), forward + backward, float32,
// side by side in one run (round robin, so load from other processes falls on both alike).
//   dotnet run -c Release --project bench/ModelDsl.MoeBench [-- --threads 2 --width 512 --tokens 2048 --rounds 7]
// The MoE time includes the router, dispatch/combine and its balance loss; the ratio is dense time / MoE time.
// One run is 2 warm-up and 2 x rounds timed layer steps: 30-65 s on a heavily loaded 2-core machine, less when idle.
// --profile instead times each stage of the MoE layer on its own, forward and backward (StageProfile.cs).
using System.Diagnostics;
using ModelDsl.Core.Model;
using ModelDsl.Runtime.Layers;
using TorchSharp;
using static TorchSharp.torch;
using ModelDsl.Runtime.Moe;

ModelDsl.Runtime.Native.HeapReuse.Enable(); // as every training run does: freed tensors are reused, not faulted in again (MODELDSL_MALLOC=system opts out)

var threads = Arg("--threads", 2);
var width = Arg("--width", 512);
var tokens = Arg("--tokens", 2048);
var rounds = Arg("--rounds", 7);
var experts = Arg("--experts", 8);
var k = Arg("--k", 2);
torch.set_num_threads(threads);
torch.manual_seed(0);

var expertHidden = new MoeFeedForward { Experts = experts, TopK = k }.EffectiveExpertHidden(width);
if (args.Contains("--profile"))
{
    StageProfile.Run(tokens, width, experts, k, expertHidden, rounds);
    return;
}
var moe = new MixtureOfExpertsFeedForward(new MoeFeedForward
{
    Experts = experts, TopK = k, ExpertHidden = expertHidden,
    Balance = new LoadBalance { Scope = BalanceScope.MicroBatch, Coefficient = 1e-2 },
}, width, "moe");
var dense = new SwiGluFeedForward(width, k * expertHidden, bias: false);
using (no_grad())
    foreach (var p in moe.parameters().Concat(dense.parameters())) p.normal_(0, 0.02);
var x = randn([tokens / 256, 256, width]);
moe.train();

double Step(FeedForwardLayer layer)
{
    using var scope = NewDisposeScope();
    foreach (var p in layer.parameters()) p.grad = null;
    var sw = Stopwatch.StartNew();
    var losses = new AuxiliaryLosses();
    var loss = layer.Forward(x, losses).square().mean();
    if (losses.Total() is { } auxiliary) loss = loss + auxiliary;
    loss.backward();
    return sw.Elapsed.TotalSeconds;
}

Step(moe); Step(dense); // warm-up
var moeTimes = new List<double>();
var denseTimes = new List<double>();
for (var r = 0; r < rounds; r++)
{
    moeTimes.Add(Step(moe));
    denseTimes.Add(Step(dense));
}
var (moeMedian, denseMedian) = (Median(moeTimes), Median(denseTimes));
Console.WriteLine($"threads {threads}, width {width}, tokens {tokens}, fp32, forward+backward, median of {rounds} rounds");
Console.WriteLine($"{"layer",-44} {"params(active)",15} {"ms",9} {"tokens/s",12}");
Console.WriteLine($"{$"MoE {experts} experts x {expertHidden}, top-{k}",-44} {ActiveParameters(moe, experts, k),15:N0} {moeMedian * 1e3,9:F1} {tokens / moeMedian,12:N0}");
Console.WriteLine($"{$"dense SwiGLU {k * expertHidden}",-44} {dense.parameters().Sum(p => p.numel()),15:N0} {denseMedian * 1e3,9:F1} {tokens / denseMedian,12:N0}");
Console.WriteLine($"MoE / dense throughput: {denseMedian / moeMedian:F2}x");

static long ActiveParameters(nn.Module layer, int experts, int k) =>
    layer.named_parameters().Sum(p => p.name.StartsWith("experts.") ? p.parameter.numel() / experts * k : p.parameter.numel());
static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
int Arg(string name, int fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1]) : fallback;
}
