using ModelDsl.Core;
using ModelDsl.Core.FineTune;
using ModelDsl.Core.Json;
using ModelDsl.Core.Training;
using ModelDsl.Runtime.Compile;
using ModelDsl.Runtime.Eval;
using ModelDsl.Runtime.FineTune;
using ModelDsl.Runtime.Runs;
using ModelDsl.Runtime.Training;
using static TorchSharp.torch;
using static ModelDsl.Runtime.Tests.FineTune.FineTuneFixtures;
using TaskFactory = ModelDsl.Runtime.Tasks.TaskFactory;

namespace ModelDsl.Runtime.Tests.FineTune;

/// <summary>ExperimentSpec.Init (start from a trained model) and training.eval.sampling (the "sampling" event).</summary>
public sealed class InitExperimentTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("init-").FullName;
    public void Dispose() => Directory.Delete(directory, recursive: true);

    private string Pretrained(string name = "pretrained")
    {
        var path = Path.Combine(directory, name);
        Trainer.Run(Experiment(steps: 5), new TrainOptions { RunDirectory = path });
        return path;
    }

    [Fact]
    public void AnExperimentWithInitStartsFromTheSourceWeights()
    {
        var source = Pretrained();
        var spec = Experiment(steps: 3, lr: 3e-3) with { Name = "sft", Init = new RunSource { Path = source } };
        var result = Trainer.Run(spec, new TrainOptions { RunDirectory = Path.Combine(directory, "sft") });
        Assert.Equal(3, result.Steps);

        // The first step's loss is the source model's loss on the first batch; a fresh model's is not.
        using var start = ModelLoader.Load(new RunSource { Path = source }, spec.Model);
        var task = TaskFactory.Create(spec.Task, spec.Training.Seed);
        var batches = Enumerable.Range(0, spec.Training.AccumulationSteps).Select(m => task.TrainBatch(0, m, spec.Training.MicroBatch)).ToList();
        Assert.Equal(GradientAccumulation.Backward(start, batches, CPU), result.TrainLosses[0], 5);
        using var scratch = ModelCompiler.Build(spec.Model, seed: spec.Training.Seed);
        Assert.True(Math.Abs(GradientAccumulation.Backward(scratch, batches, CPU) - result.TrainLosses[0]) > 1e-3);
    }

    [Fact]
    public void AResumedRunWithInitContinuesFromItsOwnCheckpointWithoutReadingTheSource()
    {
        var source = Pretrained();
        var spec = Experiment(steps: 4, lr: 3e-3) with
        {
            Name = "sft",
            Init = new RunSource { Path = source },
            Training = Experiment(steps: 4).Training with { Checkpoint = new CheckpointSpec { Every = 1, Keep = 1 } },
        };
        var whole = Trainer.Run(spec, new TrainOptions { RunDirectory = Path.Combine(directory, "whole") });
        var resumedPath = Path.Combine(directory, "resumed");
        Trainer.Run(spec, new TrainOptions { RunDirectory = resumedPath, StopAfterStep = 2 });
        // The source disappears: a resume must not need it (nor load it over the trained weights).
        Directory.Move(source, source + "-moved");
        var resumed = Trainer.Run(spec, new TrainOptions { RunDirectory = resumedPath });
        Assert.Equal(whole.TrainLosses, resumed.TrainLosses);
        using var a = ModelLoader.Load(new RunSource { Path = whole.RunDirectory }, spec.Model);
        using var b = ModelLoader.Load(new RunSource { Path = resumedPath }, spec.Model);
        Assert.Equal(Weights(a), Weights(b));
    }

    [Fact]
    public void ADifferentArchitectureIsRefusedBeforeARunDirectoryIsMade()
    {
        var source = Pretrained();
        var spec = Experiment(model: SmallModel(depth: 1)) with { Name = "wrong", Init = new RunSource { Path = source } };
        var runs = Path.Combine(directory, "runs");
        var error = Assert.Throws<ModelSourceException>(() => Trainer.Run(spec, new TrainOptions { RunsRoot = runs }));
        Assert.Contains("init", error.Message);
        Assert.Contains("model.blocks: checkpoint has 2 entries, spec has 1", error.Message);
        Assert.False(Directory.Exists(runs));
        var missing = spec with { Model = SmallModel(), Init = new RunSource { Path = Path.Combine(directory, "nowhere") } };
        Assert.Contains("init.path", Assert.Throws<ModelSourceException>(() => Trainer.Run(missing, new TrainOptions { RunsRoot = runs })).Message);
    }

    [Fact]
    public void SpecJsonOmitsAnAbsentInitAndReadsOldSpecs()
    {
        var plain = Experiment();
        var json = SpecJson.Serialize(plain);
        var root = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
        Assert.False(root.ContainsKey("init"));
        Assert.False(root.ContainsKey("rl"));
        Assert.False(root["training"]!["eval"]!.AsObject().ContainsKey("sampling"));
        Assert.Equal(plain, SpecJson.Deserialize<ExperimentSpec>(json));
        var withInit = plain with
        {
            Init = new InterpolatedSource { A = new RunSource { Path = "a" }, B = new CheckpointSource { Path = "b.ckpt" }, Alpha = 0.25 },
            Rl = new Core.Rl.RlSpec { GroupSize = 4 },
            Training = plain.Training with { Eval = plain.Training.Eval with { Sampling = new SamplingEvalSpec { Samples = 4, Ks = new[] { 1, 4 } } } },
        };
        var withJson = SpecJson.Serialize(withInit);
        var withRoot = System.Text.Json.Nodes.JsonNode.Parse(withJson)!;
        Assert.Equal("interpolation", (string?)withRoot["init"]!["kind"]);
        Assert.Equal(4, (int)withRoot["rl"]!["groupSize"]!);
        Assert.Equal(withInit, SpecJson.Deserialize<ExperimentSpec>(withJson));
    }

    [Fact]
    public void EvaluationsLogASamplingEventWhenTheSpecAsksForIt()
    {
        var sampling = new SamplingEvalSpec { Problems = 6, Samples = 4, Ks = new[] { 1, 2, 4 }, Seed = 9, BatchSize = 8 };
        var spec = Experiment(steps: 4) with
        {
            Training = Experiment(steps: 4).Training with { Eval = new EvalSpec { Every = 2, Batches = 1, Problems = 0, Sampling = sampling } },
        };
        var result = Trainer.Run(spec, new TrainOptions { RunDirectory = Path.Combine(directory, "sampled") });
        var events = MetricsLog.Read(Path.Combine(result.RunDirectory, "metrics.jsonl")).Where(e => (string?)e["event"] == "sampling").ToList();
        Assert.Equal([2L, 4L], events.Select(e => e["step"]!.GetValue<long>()));
        var last = events[^1];
        Assert.Equal(6, last["problems"]!.GetValue<int>());
        // Unbiased pass@1 is the mean pass rate; pass@k cannot fall as k grows.
        Assert.Equal(last["passRateMean"]!.GetValue<double>(), last["pass@1"]!.GetValue<double>(), 12);
        Assert.True(last["pass@2"]!.GetValue<double>() >= last["pass@1"]!.GetValue<double>());
        Assert.True(last["pass@4"]!.GetValue<double>() >= last["pass@2"]!.GetValue<double>());
        Assert.NotNull(last["maj@4"]);
        Assert.Equal(6, last["passRateHistogram"]!.GetValue<string>().Split(',').Sum(int.Parse));
        // The logged scores are the sampling evaluation of the final weights.
        using var model = ModelLoader.Load(new RunSource { Path = result.RunDirectory }, spec.Model);
        var direct = SamplingEvaluator.Evaluate(model, TaskFactory.Create(spec.Task, spec.Training.Seed), sampling);
        Assert.Equal(direct.At(4).PassAtK, last["pass@4"]!.GetValue<double>(), 12);
        Assert.Equal(direct.At(2).MajorityAtK, last["maj@2"]!.GetValue<double>(), 12);
    }
}
