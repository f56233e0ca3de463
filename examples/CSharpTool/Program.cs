// A tool's view of ModelDsl: build the IR directly in C#, validate it, save it as a JSON run spec,
// inspect the compiled model, train it, and read the result back.
//   dotnet run -c Release --project examples/CSharpTool [-- <runs-dir>]
using ModelDsl.Runtime.Compile;
using ModelDsl.Core;
using ModelDsl.Core.Json;
using ModelDsl.Core.Model;
using ModelDsl.Core.Tasks;
using ModelDsl.Core.Training;
using ModelDsl.Runtime.Training;

var runsRoot = args.Length > 0 ? args[0] : "runs";

// 1. The IR: a two-layer decoder with grouped-query attention on sparse parity with chain of thought.
var spec = new ExperimentSpec
{
    Name = "csharp-tool-parity",
    Model = ModelSpec.Llama(vocab: SparseParity.Vocabulary, width: 64, depth: 2, heads: 4, kvHeads: 2) with { MaxSequenceLength = 64 },
    Task = new SparseParity { Bits = 10, Secret = 2, ChainOfThought = true },
    Training = new TrainingSpec
    {
        Optimizer = new AdamW { Lr = 3e-3, WeightDecay = 0.1 },
        Schedule = new WarmupCosine { WarmupFraction = 0.05, MinRatio = 0.1 },
        Budget = new StepBudget(150),
        GlobalBatch = 64,
        MicroBatch = 32,
        Eval = new EvalSpec { Every = 50, Batches = 2, Problems = 128 },
        Checkpoint = new CheckpointSpec { Every = 0 },
        Seed = 7,
        Threads = 2,
    },
};

// 2. Validation reports every error with its path; a tool can show them all at once.
var errors = spec.Validate();
if (errors.Count > 0)
{
    foreach (var e in errors) Console.Error.WriteLine(e);
    return 2;
}

// 3. The JSON run spec is the same IR: `modeldsl run spec.json` runs it.
Directory.CreateDirectory(runsRoot);
var specPath = Path.Combine(runsRoot, "csharp-tool-spec.json");
File.WriteAllText(specPath, SpecJson.Serialize(spec));
Console.WriteLine($"wrote {specPath}; reloads equal: {SpecJson.LoadExperiment(specPath) == spec}");

// 4. Inspect the compiled model.
using (var model = ModelCompiler.Build(spec.Model))
{
    foreach (var row in model.Describe()) Console.WriteLine($"  {row.Name,-32} {row.Kind,-20} {row.Shape,-16} {row.Parameters,8:N0}");
    Console.WriteLine($"parameters {model.ParameterCount:N0}, FLOPs/token {model.TrainingFlopsPerToken(spec.Task.SequenceLength()):N0}");
}

// 5. Train, with progress through callbacks.
var result = Trainer.Run(spec, new TrainOptions
{
    RunsRoot = runsRoot,
    OnEval = e => Console.WriteLine($"step {e.Step,4}: validation loss {e.ValidationLoss:F4}, accuracy {e.Accuracy:P1}"),
});
Console.WriteLine($"run directory {result.RunDirectory}: final train loss {result.FinalTrainLoss:F4}, {result.TokensPerSecond:F0} tokens/s");
return 0;
