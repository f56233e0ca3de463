// Throughput of the real training path: Trainer.Run on a text corpus with the spec's AdamW, gradient
// clipping at 1.0, the warmup-cosine schedule and the run's metrics log, for the S and M configs.
// Each config runs in its own child process (this program re-invoked with --child), so that its peak
// resident set (VmHWM) is its own. Per config: the median step time over steps 3..N (the first two
// steps warm up the allocator), tokens/s from that median, and the median of each phase of a step
// (TrainOptions.OnStepTimings): forward with the loss, backward, gradient norm, clipping, the optimizer
// update, zeroing the gradients, and the trainer's overhead (batches, metrics, bookkeeping).
//   dotnet run -c Release --project bench/ModelDsl.TrainerBench [-- --configs S,M --steps 15 --threads 2]
//   ... -- --child S --steps 15 --threads 2   (one config; prints one JSON line, for bench/trainer/compare.sh)
//   ... -- --components S [--reps 10 --warmup 2 --steps 5 --threads 2 --clock wall|cpu]   (each part of a step alone; see
//       Components.cs and bench/trainer/components.sh)
// A child also reports its resident set at five points (the .NET runtime alone, libtorch loaded, the
// model built, after step 1, after the last step), to attribute the peak.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ModelDsl.Core;
using ModelDsl.Core.Model;
using ModelDsl.Core.Tasks;
using ModelDsl.Core.Training;
using ModelDsl.Runtime.Training;
using TorchSharp;

ModelDsl.Runtime.Native.HeapReuse.Enable(); // as every training run does: freed tensors are reused, not faulted in again (MODELDSL_MALLOC=system opts out)

var memoryStart = ProcessMemory.Read();
var steps = Arg("--steps", 15);
var threads = Arg("--threads", 2);
if (args.Length >= 2 && args[0] == "--child")
{
    Console.WriteLine(JsonSerializer.Serialize(RunConfig(args[1], steps, threads, memoryStart)));
    return;
}
if (args.Length >= 2 && args[0] == "--components")
{
    Components.Run(args[1], Arg("--reps", 10), Arg("--warmup", 2), Arg("--steps", 5), threads, ArgString("--clock", "wall"));
    return;
}

var configs = ArgString("--configs", "S,M").Split(',');
var self = Environment.ProcessPath!;
var dll = typeof(TrainerBenchResult).Assembly.Location;
Console.WriteLine($"Trainer.Run, AdamW (lr 1e-3, wd 0.1), clip 1.0, text corpus, fp32, {threads} threads; median of steps 3..{steps}");
Console.WriteLine();
Console.WriteLine($"{"config",-6} {"params",11} {"tokens/step",11} {"step ms",8} {"tokens/s",9} {"fwd+loss",9} {"backward",9} {"norm",6} {"clip",6} {"optim",7} {"zero",6} {"overhead",9} {"peak RSS MiB",12}");
foreach (var name in configs)
{
    var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, UseShellExecute = false };
    if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(dll);
    foreach (var a in new[] { "--child", name, "--steps", steps.ToString(CultureInfo.InvariantCulture), "--threads", threads.ToString(CultureInfo.InvariantCulture) })
        start.ArgumentList.Add(a);
    using var child = Process.Start(start)!;
    var output = child.StandardOutput.ReadToEnd();
    child.WaitForExit();
    if (child.ExitCode != 0) throw new InvalidOperationException($"config {name}: the child process failed ({child.ExitCode})");
    var r = JsonSerializer.Deserialize<TrainerBenchResult>(output.Trim().Split('\n')[^1])!;
    string Ms(double seconds) => (seconds * 1e3).ToString("F1", CultureInfo.InvariantCulture);
    Console.WriteLine($"{r.Config,-6} {r.Parameters,11:N0} {r.TokensPerStep,11} {Ms(r.StepSeconds),8} {r.TokensPerSecond,9:F0} {Ms(r.ForwardLossSeconds),9} {Ms(r.BackwardSeconds),9} " +
        $"{Ms(r.GradientNormSeconds),6} {Ms(r.ClipSeconds),6} {Ms(r.OptimizerSeconds),7} {Ms(r.ZeroGradSeconds),6} {Ms(r.OverheadSeconds),9} {r.PeakRssMiB,12:F0}");
}
Console.WriteLine();
Console.WriteLine("overhead = step minus (fwd+loss, backward, norm, clip, optim, zero): batches, metrics, bookkeeping");

static TrainerBenchResult RunConfig(string name, int steps, int threads, Dictionary<string, double> memoryStart)
{
    using (var probe = torch.ones(8, 8)) probe.mm(probe).Dispose(); // libtorch and its BLAS loaded
    var memoryRuntime = ProcessMemory.Read();
    Dictionary<string, double>? memoryModel = null, memoryStep1 = null, memoryLast = null;
    var (width, depth, heads, seq, batch) = name switch
    {
        "S" => (256, 4, 4, 256, 8),
        "M" => (512, 8, 8, 512, 4),
        _ => throw new ArgumentException($"unknown config '{name}' (S or M)"),
    };
    if (steps < 4) throw new ArgumentException($"--steps {steps}: at least 4 (steps 1 and 2 are warm-up)");
    var root = Directory.CreateTempSubdirectory("trainerbench-").FullName;
    try
    {
        // A byte corpus (token ids 0..255 of the 4096-entry vocabulary): the step's work does not depend on the ids.
        var corpus = Path.Combine(root, "corpus.bin");
        var bytes = new byte[4 << 20];
        new Random(7).NextBytes(bytes);
        File.WriteAllBytes(corpus, bytes);
        var spec = new ExperimentSpec
        {
            Name = "trainer-bench-" + name,
            Model = ModelSpec.Llama(vocab: 4096, width: width, depth: depth, heads: heads) with { MaxSequenceLength = seq, TiedHead = false },
            Task = new TextCorpus { Path = corpus, Length = seq },
            Training = new TrainingSpec
            {
                Optimizer = new AdamW { Lr = 1e-3, WeightDecay = 0.1 },
                ClipGradNorm = 1.0,
                // One step more than is run: the final evaluation and checkpoint are not part of a step.
                Budget = new StepBudget(steps + 1),
                GlobalBatch = batch,
                MicroBatch = batch,
                Seed = 1,
                Threads = threads,
            },
        };
        var timings = new List<StepTimings>();
        var result = Trainer.Run(spec, new TrainOptions
        {
            RunDirectory = Path.Combine(root, "run"),
            StopAfterStep = steps,
            OnStepTimings = t =>
            {
                timings.Add(t);
                if (t.Step == 1) memoryStep1 = ProcessMemory.Read();
                if (t.Step == steps) memoryLast = ProcessMemory.Read();
            },
            OnProgress = _ => { },
        }, (model, dtype, device, seed) =>
        {
            var built = Trainer.BuildLanguageModel(model, dtype, device, seed);
            memoryModel = ProcessMemory.Read();
            return built;
        });
        var measured = timings.Where(t => t.Step >= 3).ToList();
        double Median(Func<StepTimings, double> of)
        {
            var sorted = measured.Select(of).Order().ToArray();
            return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
        }
        var stepSeconds = Median(t => t.Total);
        var peak = PeakRssMiB(); // before the model below is built for its parameter count
        using var model = ModelDsl.Runtime.Compile.ModelCompiler.Build(spec.Model, seed: 0);
        return new TrainerBenchResult("modeldsl-trainer", name, model.ParameterCount, (long)seq * batch, measured.Count,
            stepSeconds, seq * batch / stepSeconds, Median(t => t.ForwardLoss), Median(t => t.Backward), Median(t => t.GradientNorm),
            Median(t => t.Clip), Median(t => t.Optimizer), Median(t => t.ZeroGrad), Median(t => t.Batch), Median(t => t.Overhead),
            peak, result.TrainLosses[0], result.TrainLosses[^1],
            new Dictionary<string, Dictionary<string, double>> { ["start"] = memoryStart, ["runtime"] = memoryRuntime, ["model"] = memoryModel!, ["step1"] = memoryStep1!, ["last"] = memoryLast! });
    }
    finally
    {
        Directory.Delete(root, recursive: true);
    }
}

// VmHWM: the peak resident set of this process.
static double PeakRssMiB() => ProcessMemory.Read()["VmHWM"];

int Arg(string flag, int fallback) => int.TryParse(ArgString(flag, ""), out var v) ? v : fallback;
string ArgString(string flag, string fallback)
{
    var i = Array.IndexOf(args, flag);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

/// <summary>One config's figures (seconds are medians over steps 3..N), printed by a child as one JSON line.</summary>
internal sealed record TrainerBenchResult(string Impl, string Config, long Parameters, long TokensPerStep, int MeasuredSteps,
    double StepSeconds, double TokensPerSecond, double ForwardLossSeconds, double BackwardSeconds, double GradientNormSeconds,
    double ClipSeconds, double OptimizerSeconds, double ZeroGradSeconds, double BatchSeconds, double OverheadSeconds,
    double PeakRssMiB, double LossFirst, double LossLast, Dictionary<string, Dictionary<string, double>> Memory);
