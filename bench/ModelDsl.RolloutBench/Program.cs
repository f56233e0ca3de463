// Sampling throughput of RL rollouts: G completions of K tokens for one prompt, drawn with the KV cache
// against rerunning the whole prefix for every token (the reference path), float32, round robin.
//   dotnet run -c Release --project bench/ModelDsl.RolloutBench [-- --threads 2 --width 256 --depth 4 --group 16 --tokens 128 --rounds 3]
// Both paths draw the same tokens from the same seed; the ratio is recompute time / cached time.
using System.Diagnostics;
using ModelDsl.Runtime.Compile;
using ModelDsl.Core.Generation;
using ModelDsl.Core.Model;
using ModelDsl.Runtime.Rl;
using ModelDsl.Runtime.Tasks;
using TorchSharp;
using static TorchSharp.torch;

ModelDsl.Runtime.Native.HeapReuse.Enable(); // as every training run does: freed tensors are reused, not faulted in again (MODELDSL_MALLOC=system opts out)

var threads = Arg("--threads", 2);
var width = Arg("--width", 256);
var depth = Arg("--depth", 4);
var group = Arg("--group", 16);
var tokens = Arg("--tokens", 128);
var promptLength = Arg("--prompt", 16);
var rounds = Arg("--rounds", 3);
const int vocab = 64;
torch.set_num_threads(threads);

var spec = ModelSpec.Llama(vocab: vocab, width: width, depth: depth, heads: Math.Max(1, width / 64)) with { MaxSequenceLength = promptLength + tokens };
using var model = ModelCompiler.Build(spec, ScalarType.Float32, seed: 1);
model.eval();
var prompt = new RolloutPrompt(new Problem(Enumerable.Range(0, promptLength).Select(i => (long)(i * 7 % vocab)).ToArray(), []),
    Enumerable.Range(0, promptLength).Select(i => (long)(i * 7 % vocab)).ToArray());
var sampling = new SamplingSpec { Temperature = 1.0 };

(double Seconds, long[] Tokens) Run(bool useCache)
{
    using var scope = NewDisposeScope();
    var clock = Stopwatch.StartNew();
    using var rollout = RolloutSampler.Sample(model, [prompt], group, sampling, tokens, stopToken: null, new torch.Generator(7, torch.CPU), useCache);
    var seconds = clock.Elapsed.TotalSeconds;
    return (seconds, rollout.Completions.data<long>().ToArray());
}

Run(true); Run(false); // warm-up
var cached = new List<double>();
var recomputed = new List<double>();
for (var r = 0; r < rounds; r++)
{
    var (cachedSeconds, cachedTokens) = Run(true);
    var (recomputedSeconds, recomputedTokens) = Run(false);
    if (!cachedTokens.SequenceEqual(recomputedTokens)) Console.WriteLine("warning: the two paths sampled different tokens (float32 rounding)");
    cached.Add(cachedSeconds);
    recomputed.Add(recomputedSeconds);
}
var (cachedMedian, recomputedMedian) = (Median(cached), Median(recomputed));
var generated = (double)group * tokens;
Console.WriteLine($"threads {threads}, width {width}, depth {depth}, G {group} x {tokens} new tokens after a {promptLength}-token prompt, fp32, median of {rounds} rounds");
Console.WriteLine($"{"path",-22} {"s",9} {"tokens/s",12}");
Console.WriteLine($"{"KV cache",-22} {cachedMedian,9:F3} {generated / cachedMedian,12:N0}");
Console.WriteLine($"{"recompute prefix",-22} {recomputedMedian,9:F3} {generated / recomputedMedian,12:N0}");
Console.WriteLine($"KV cache / recompute throughput: {recomputedMedian / cachedMedian:F2}x");

static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
int Arg(string name, int fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1]) : fallback;
}
