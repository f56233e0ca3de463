// CUDA checks and training throughput through the trainer itself, one JSON object per line on stdout.
// Built for bench/gpu/run.sh (a self-contained publish on a machine with a CUDA PyTorch), which sets
// MODELDSL_LIBTORCH to PyTorch's torch/lib. Also runs on CPU (--device cpu) to check the program.
//   dotnet run -c Release --project bench/ModelDsl.GpuBench -- --device cpu --configs S --precisions float32 --steps 4
using System.Diagnostics;
using System.Text.Json;
using ModelDsl.Core;
using ModelDsl.Core.Model;
using ModelDsl.Core.Tasks;
using ModelDsl.Core.Training;
using ModelDsl.Runtime.Compile;
using ModelDsl.Runtime.Native;
using ModelDsl.Runtime.Training;
using TorchSharp;
using static TorchSharp.torch;

var device = ArgString("--device", "cuda");
var configs = ArgString("--configs", "S,M,L").Split(',');
var precisions = ArgString("--precisions", "float32,tf32").Split(',');
var steps = Arg("--steps", 12);
var work = ArgString("--work", Path.Combine(Path.GetTempPath(), "gpubench"));
Directory.CreateDirectory(work);

void Emit(object record) => Console.WriteLine(JsonSerializer.Serialize(record));

var preloaded = LibTorchPreload.FromEnvironment();
Emit(new { check = "libtorch", preloaded, cudaAvailable = cuda.is_available(), cudaDevices = cuda.is_available() ? cuda.device_count() : 0 });
if (device.StartsWith("cuda") && !cuda.is_available())
{
    Emit(new { check = "stop", reason = "CUDA is not available to TorchSharp" });
    return 1;
}

// A corpus for the trainer's text task: bytes; the models' vocabulary (4096) is larger than the bytes
// used, which costs the same as a real 4096-token vocabulary.
var corpus = Path.Combine(work, "corpus.txt");
if (!File.Exists(corpus))
{
    var random = new Random(0);
    var words = Enumerable.Range(0, 2000).Select(_ => new string(Enumerable.Range(0, random.Next(2, 9)).Select(_ => (char)('a' + random.Next(26))).ToArray())).ToArray();
    File.WriteAllText(corpus, string.Join(' ', Enumerable.Range(0, 1_500_000).Select(_ => words[random.Next(words.Length)])));
}

// 1. The same model, seed and batch give the same loss on CUDA as on the CPU (fp32, TF32 off).
if (device.StartsWith("cuda"))
{
    var (spec, sequence, batch) = Config("M");
    torch.backends.cuda.matmul.allow_tf32 = false;
    torch.backends.cudnn.allow_tf32 = false;
    var cpuLoss = FirstLoss(spec, sequence, batch, CPU);
    var cudaLoss = FirstLoss(spec, sequence, batch, new Device(device));
    Emit(new { check = "loss", config = "M", cpuLoss, cudaLoss, relativeDifference = Math.Abs(cudaLoss - cpuLoss) / Math.Abs(cpuLoss), tolerance = 1e-4 });
}

// 2. Training throughput through Trainer.Run (the project's AdamW, clipping, the task pipeline, metrics).
foreach (var name in configs)
    foreach (var precision in precisions)
    {
        var (model, sequence, batch) = Config(name);
        var tf32 = precision == "tf32";
        torch.backends.cuda.matmul.allow_tf32 = tf32;
        torch.backends.cudnn.allow_tf32 = tf32;
        var spec = new ExperimentSpec
        {
            Name = $"gpu-{name}-{precision}",
            Model = model,
            Task = new TextCorpus { Path = corpus, Length = sequence, ValidationFraction = 0.01 },
            Training = new TrainingSpec
            {
                Optimizer = new AdamW { Lr = 3e-4, WeightDecay = 0.1 },
                Schedule = new ConstantSchedule(),
                Budget = new StepBudget(steps),
                GlobalBatch = batch,
                MicroBatch = batch,
                ClipGradNorm = 1.0,
                Eval = new EvalSpec { Every = 0, Batches = 1, Problems = 0 },
                Checkpoint = new CheckpointSpec { Every = 0, Keep = 1 },
                Device = device,
                Precision = precision switch
                {
                    "float32" or "tf32" => Precision.Float32,
                    _ => throw new ArgumentException($"precision '{precision}' (float32, tf32)"),
                },
            },
        };
        var stepTimes = new List<double>();
        var clock = Stopwatch.StartNew();
        var last = 0.0;
        string? error = null;
        try
        {
            Trainer.Run(spec, new TrainOptions
            {
                RunsRoot = Path.Combine(work, "runs"),
                OnProgress = p =>
                {
                    if (device.StartsWith("cuda")) cuda.synchronize();
                    var now = clock.Elapsed.TotalSeconds;
                    stepTimes.Add(now - last);
                    last = now;
                },
            });
        }
        catch (Exception e)
        {
            error = $"{e.GetType().Name}: {e.Message}";
        }
        // Steps 1-2 warm up the allocator and kernel choice; the median of the rest is the step time.
        var measured = stepTimes.Skip(2).OrderBy(t => t).ToArray();
        var median = measured.Length > 0 ? measured[measured.Length / 2] : double.NaN;
        using var probe = ModelCompiler.Build(model, seed: 0);
        var tokens = (double)batch * sequence;
        Emit(new
        {
            check = "throughput", side = "modeldsl", config = name, precision, device, parameters = probe.ParameterCount,
            sequence, batch, steps = stepTimes.Count, medianStepSeconds = median, tokensPerSecond = tokens / median,
            trainingFlopsPerToken = probe.TrainingFlopsPerToken(sequence), error,
        });
    }
return 0;

static (ModelSpec Model, int Sequence, int Batch) Config(string name) => name switch
{
    // S and M as in bench/ModelDsl.Bench; L uses the card; XL is about 1.2B parameters.
    "S" => (Llama(4096, 256, 4, 4, 256), 256, 8),
    "M" => (Llama(4096, 512, 8, 8, 512), 512, 4),
    "L" => (Llama(4096, 1024, 16, 16, 1024), 1024, 8),
    "XL" => (Llama(4096, 2048, 24, 16, 1024), 1024, 8),
    _ => throw new ArgumentException($"unknown config '{name}' (S, M, L, XL)"),
};

// Untied head, like the PyTorch script beside run.sh.
static ModelSpec Llama(int vocab, int width, int depth, int heads, int sequence) =>
    ModelSpec.Llama(vocab, width, depth, heads) with { MaxSequenceLength = sequence, TiedHead = false };

static double FirstLoss(ModelSpec spec, int sequence, int batch, Device on)
{
    using var scope = NewDisposeScope();
    using var model = ModelCompiler.Build(spec, seed: 0);
    model.to(on);
    var generator = new torch.Generator(7);
    var tokens = randint(0, spec.Vocab, [batch, sequence + 1], dtype: ScalarType.Int64, generator: generator).to(on);
    var logits = model.forward(tokens[.., ..^1]);
    return nn.functional.cross_entropy(logits.reshape(-1, spec.Vocab), tokens[.., 1..].reshape(-1)).item<float>();
}

int Arg(string name, int fallback) => int.TryParse(ArgString(name, ""), out var value) ? value : fallback;
string ArgString(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
