// Data-parallel training throughput on the S config (vocab 4096, width 256, 4 layers, seq 256,
// global batch 8): 2 ranks x 1 libtorch thread (mpirun) against 1 process x 2 threads, and the
// gradient all-reduce's share of a data-parallel step.
//   dotnet build -c Release bench/ModelDsl.DataParallelBench
//   dotnet bench/ModelDsl.DataParallelBench/bin/Release/net10.0/ModelDsl.DataParallelBench.dll [--steps 8]
// Without OMPI_COMM_WORLD_SIZE it measures the single process, then starts itself under
// `mpirun -np 2` (as a worker) and prints both and their ratio. Each step is the trainer's:
// the replica's rows of the global batch, backward with the global denominators, the bucketed
// all-reduce, AdamW.
using System.Diagnostics;
using System.Globalization;
using ModelDsl.Core.Model;
using ModelDsl.Runtime.Compile;
using ModelDsl.Runtime.Distributed;
using ModelDsl.Runtime.Parameters;
using ModelDsl.Runtime.Tasks;
using ModelDsl.Runtime.Training;
using TorchSharp;
using static TorchSharp.torch;

ModelDsl.Runtime.Native.HeapReuse.Enable(); // as every training run does: freed tensors are reused, not faulted in again (MODELDSL_MALLOC=system opts out)

const int Vocab = 4096, Sequence = 256, GlobalBatch = 8;
var steps = Arg("--steps", 8);
var warmup = 2;

if (DataParallelLaunch.AnnouncedSize is { } size)
{
    var replica = new DataParallelReplica(MpiCollective.World);
    var result = Measure(replica, threads: 1, steps, warmup);
    if (replica.IsRoot)
        Console.WriteLine(FormattableString.Invariant($"RESULT {result.TokensPerSecond} {result.CommunicationFraction} {result.StepSeconds}"));
    return 0;
}

var single = Measure(DataParallelReplica.SingleProcess, threads: 2, steps, warmup);
var self = typeof(Program).Assembly.Location;
var start = new ProcessStartInfo("mpirun",
    ["--allow-run-as-root", "--oversubscribe", "--mca", "btl_vader_single_copy_mechanism", "none", "-np", "2", "dotnet", self, "--steps", steps.ToString(CultureInfo.InvariantCulture)])
{ RedirectStandardOutput = true, RedirectStandardError = true };
using var job = Process.Start(start)!;
var output = job.StandardOutput.ReadToEnd();
var errors = job.StandardError.ReadToEnd();
job.WaitForExit();
// (A terminal escape sequence may precede the line: search, do not anchor.)
var line = output.Split('\n').Select(l =>
    {
        var at = l.IndexOf("RESULT ", StringComparison.Ordinal);
        return at >= 0 ? l[at..].Trim() : null;
    }).FirstOrDefault(l => l is not null);
if (job.ExitCode != 0 || line is null)
{
    Console.Error.WriteLine($"mpirun -np 2 failed (exit {job.ExitCode}):\n{output}{errors}");
    return 1;
}
var fields = line.Split(' ').Skip(1).Select(f => double.Parse(f, CultureInfo.InvariantCulture)).ToArray();
Console.WriteLine($"S config (vocab {Vocab}, width 256, 4 layers, seq {Sequence}, global batch {GlobalBatch}), median of {steps} steps after {warmup} warm-up");
Console.WriteLine($"{"setup",-22} {"step ms",9} {"tokens/s",10} {"all-reduce share",17}");
Console.WriteLine($"{"1 process x 2 threads",-22} {single.StepSeconds * 1e3,9:F0} {single.TokensPerSecond,10:F0} {"-",17}");
Console.WriteLine($"{"2 ranks x 1 thread",-22} {fields[2] * 1e3,9:F0} {fields[0],10:F0} {fields[1],17:P1}");
Console.WriteLine($"tokens/s ratio (2 ranks x 1 thread) / (1 process x 2 threads): {fields[0] / single.TokensPerSecond:F2}");
return 0;

static (double TokensPerSecond, double CommunicationFraction, double StepSeconds) Measure(DataParallelReplica replica, int threads, int steps, int warmup)
{
    torch.set_num_threads(threads);
    var spec = ModelSpec.Llama(vocab: Vocab, width: 256, depth: 4, heads: 4) with { MaxSequenceLength = Sequence };
    using var model = ModelCompiler.Build(spec, seed: 0);
    var parameters = model.parameters().ToList();
    var named = parameters.Select((p, i) => new NamedParameter($"p{i}", p, ParameterRole.HiddenMatrix)).ToList();
    using var optimizer = torch.optim.AdamW(parameters, lr: 1e-4, weight_decay: 0.1);
    var generator = new torch.Generator(7);
    var tokens = torch.randint(0, Vocab, [GlobalBatch, Sequence + 1], generator: generator, dtype: ScalarType.Int64);
    var batch = new Batch(tokens[.., ..^1].contiguous(), tokens[.., 1..].contiguous(), ones(GlobalBatch, Sequence));
    var times = new List<(double Step, double Communication)>();
    for (var step = 0; step < warmup + steps; step++)
    {
        using var scope = torch.NewDisposeScope();
        replica.Collective.Barrier();
        var communicationBefore = replica.GradientCommunicationSeconds;
        var clock = Stopwatch.StartNew();
        optimizer.zero_grad();
        var local = GradientAccumulation.BackwardWithAuxiliary(model, replica.Share([batch]), CPU);
        replica.AllReduce(named, local);
        optimizer.step();
        var seconds = new[] { clock.Elapsed.TotalSeconds, replica.GradientCommunicationSeconds - communicationBefore };
        replica.Collective.AllReduceSum(seconds); // the mean over ranks
        if (step >= warmup) times.Add((seconds[0] / replica.Size, seconds[1] / replica.Size));
    }
    var median = times.OrderBy(t => t.Step).ElementAt(times.Count / 2);
    return (GlobalBatch * Sequence / median.Step, median.Communication / median.Step, median.Step);
}

static int Arg(string name, int fallback)
{
    var args = Environment.GetCommandLineArgs();
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}
