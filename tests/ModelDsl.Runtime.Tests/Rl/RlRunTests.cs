using System.Text.Json.Nodes;
using ModelDsl.Core;
using ModelDsl.Core.FineTune;
using ModelDsl.Core.Rl;
using ModelDsl.Core.Training;
using ModelDsl.Runtime.FineTune;
using ModelDsl.Runtime.Optim;
using ModelDsl.Runtime.Rl;
using ModelDsl.Runtime.Runs;
using ModelDsl.Runtime.Training;
using static ModelDsl.Runtime.Tests.FineTune.FineTuneFixtures;
using TaskFactory = ModelDsl.Runtime.Tasks.TaskFactory;

namespace ModelDsl.Runtime.Tests.Rl;

/// <summary>RL as an experiment: ExperimentSpec.Rl run through <see cref="Trainer.Run(ExperimentSpec, TrainOptions?)"/>.</summary>
public sealed class RlRunTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("rlrun-").FullName;
    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static readonly RlSpec SmallRl = new() { GroupSize = 4, PromptsPerStep = 4, MicroBatch = 8 };

    /// <summary>A tiny chained-arithmetic model pre-trained for 5 steps.</summary>
    private string Pretrained()
    {
        var path = Path.Combine(directory, "pretrained");
        Trainer.Run(Experiment(steps: 5), new TrainOptions { RunDirectory = path });
        return path;
    }

    private static ExperimentSpec RlExperiment(string source, int steps, RlSpec? rl = null) => Experiment(steps: steps, lr: 3e-3) with
    {
        Name = "rl",
        Init = new RunSource { Path = source },
        Rl = rl ?? SmallRl,
        Training = Experiment(steps: steps, lr: 3e-3).Training with
        {
            Schedule = new WarmupCosine { WarmupFraction = 0.25 },
            Eval = new EvalSpec { Every = 2, Batches = 1, Problems = 4 },
        },
    };

    private static List<JsonObject> Events(string run, string name) =>
        MetricsLog.Read(Path.Combine(run, "metrics.jsonl")).Where(e => (string?)e["event"] == name).ToList();

    [Fact]
    public void AnRlExperimentRunsFromAPretrainedRunAsTheBareRlLoopWould()
    {
        var source = Pretrained();
        var spec = RlExperiment(source, steps: 3);
        var progress = new List<RlProgress>();
        var result = Trainer.Run(spec, new TrainOptions { RunDirectory = Path.Combine(directory, "rl"), OnRlProgress = progress.Add });

        Assert.Equal(3, result.Steps);
        Assert.True(File.Exists(Path.Combine(result.RunDirectory, "spec.json")));
        Assert.Equal(spec, ModelDsl.Core.Json.SpecJson.Deserialize<ExperimentSpec>(File.ReadAllText(Path.Combine(result.RunDirectory, "spec.json"))));
        var rl = Events(result.RunDirectory, "rl");
        Assert.Equal([1L, 2L, 3L], rl.Select(e => e["step"]!.GetValue<long>()));
        Assert.All(rl, e => Assert.InRange(e["meanReward"]!.GetValue<double>(), 0, 1));
        Assert.All(rl, e => Assert.Null(e["loss"]));
        Assert.Equal(rl.Select(e => e["meanReward"]!.GetValue<double>()), progress.Select(p => p.MeanReward));
        Assert.Equal(rl.Select(e => e["accuracy"]!.GetValue<double>()), progress.Select(p => p.Accuracy));
        Assert.All(progress, p => Assert.Equal(3, p.TotalSteps));
        var evals = Events(result.RunDirectory, "eval");
        Assert.Equal([2L, 3L], evals.Select(e => e["step"]!.GetValue<long>()));
        Assert.All(evals, e =>
        {
            Assert.InRange(e["pass@1"]!.GetValue<double>(), 0, 1);
            Assert.True(e["pass@4"]!.GetValue<double>() >= e["pass@1"]!.GetValue<double>());
            Assert.Equal(e["pass@1"]!.GetValue<double>(), e["passRateMean"]!.GetValue<double>(), 12);
        });
        Assert.Equal(3, RunSummary.Read(Path.Combine(result.RunDirectory, "summary.json")).Steps);

        // The same three steps by hand: the source's weights, a fresh optimizer, the schedule's multipliers, the seed.
        using var policy = ModelLoader.Load(new RunSource { Path = source }, spec.Model);
        using var optimizer = OptimizerFactory.Create(spec.Training.Optimizer, policy.NamedParameters(), spec.Training.ClipGradNorm);
        using (var trainer = new RlTrainer(SmallRl, policy, optimizer, TaskFactory.Create(spec.Task, spec.Training.Seed), spec.Training.Seed,
                   learningRateMultiplier: s => spec.Training.Schedule.Multiplier(s, 3)))
        {
            var byHand = Enumerable.Range(0, 3).Select(_ => trainer.Step()).ToList();
            Assert.Equal(byHand.Select(m => m.MeanReward), rl.Select(e => e["meanReward"]!.GetValue<double>()));
        }
        using var trained = ModelLoader.Load(new RunSource { Path = result.RunDirectory }, spec.Model);
        Assert.Equal(Weights(policy), Weights(trained));
        using var pretrained = ModelLoader.Load(new RunSource { Path = source }, spec.Model);
        Assert.NotEqual(Weights(pretrained), Weights(trained));
    }

    [Fact]
    public void AResumedRlRunMatchesTheUninterruptedOneBitForBit()
    {
        var source = Pretrained();
        // With a KL reference, so that the resumed run must rebuild it from the init source, not from its own weights.
        var rl = SmallRl with { Kl = new KlSpec { Beta = 0.05 } };
        var spec = RlExperiment(source, steps: 4, rl) with { Training = RlExperiment(source, 4).Training with { Checkpoint = new CheckpointSpec { Every = 1, Keep = 2 } } };
        var whole = Trainer.Run(spec, new TrainOptions { RunDirectory = Path.Combine(directory, "whole") });

        var resumedPath = Path.Combine(directory, "resumed");
        var first = Trainer.Run(spec, new TrainOptions { RunDirectory = resumedPath, StopAfterStep = 2 });
        Assert.Equal(2, first.Steps);
        Assert.False(File.Exists(Path.Combine(resumedPath, "summary.json")));
        var resumed = Trainer.Run(spec, new TrainOptions { RunDirectory = resumedPath });
        Assert.Equal(4, resumed.Steps);

        using var a = ModelLoader.Load(new RunSource { Path = whole.RunDirectory }, spec.Model);
        using var b = ModelLoader.Load(new RunSource { Path = resumed.RunDirectory }, spec.Model);
        Assert.Equal(Weights(a), Weights(b));
        string[] timing = ["samplingTokensPerSecond", "trainingTokensPerSecond", "elapsedSeconds"];
        string Comparable(JsonObject e)
        {
            var copy = (JsonObject)e.DeepClone();
            foreach (var key in timing) copy.Remove(key);
            return copy.ToJsonString();
        }
        Assert.Equal(Events(whole.RunDirectory, "rl").Select(Comparable), Events(resumed.RunDirectory, "rl").Select(Comparable));
        Assert.All(Events(whole.RunDirectory, "rl"), e => Assert.True(e["kl"]!.GetValue<double>() >= 0));
        Assert.Equal(Events(whole.RunDirectory, "eval").Select(Comparable), Events(resumed.RunDirectory, "eval").Select(Comparable));
    }

    [Fact]
    public void RlNeedsAnInitAndAVerifiableTask()
    {
        var spec = Experiment() with { Rl = SmallRl };
        Assert.Contains(spec.Validate(), e => e.Path == "init" && e.Message.Contains("RL starts from a trained model"));
        var flipFlop = spec with { Init = new RunSource { Path = "x" }, Task = new Core.Tasks.FlipFlop() };
        Assert.Contains(flipFlop.Validate(), e => e.Path == "task" && e.Message.Contains("flipFlop"));
        var hinted = spec with { Init = new RunSource { Path = "x" }, Rl = SmallRl with { Hints = new HintSpec() } };
        Assert.Contains(hinted.Validate(), e => e.Path == "model.vocab" && e.Message.Contains("hint marker"));
        // A training input is 6 tokens; a sampled completion holds the prompt (4) and the answer (3).
        var short_ = spec with { Init = new RunSource { Path = "x" }, Model = SmallModel() with { MaxSequenceLength = 6 } };
        Assert.Contains(short_.Validate(), e => e.Path == "model.maxSequenceLength" && e.Message.Contains("7 tokens"));
        Assert.Empty((short_ with { Model = SmallModel() with { MaxSequenceLength = 7 } }).Validate());
        var bad = spec with { Init = new RunSource { Path = "" } };
        Assert.Contains(bad.Validate(), e => e.Path == "init.path");
    }
}
