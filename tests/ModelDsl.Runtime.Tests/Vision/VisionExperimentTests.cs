using ModelDsl.Core;
using ModelDsl.Core.FineTune;
using ModelDsl.Core.Json;
using ModelDsl.Core.Model;
using ModelDsl.Core.Tasks;
using ModelDsl.Core.Training;
using ModelDsl.Core.Validation;
using ModelDsl.Core.Vision;
using ModelDsl.Runtime.FineTune;
using ModelDsl.Runtime.Runs;
using ModelDsl.Runtime.Training;
using ModelDsl.Runtime.Vision;
using static TorchSharp.torch;
using TaskFactory = ModelDsl.Runtime.Tasks.TaskFactory;

namespace ModelDsl.Runtime.Tests.Vision;

/// <summary>Vision-language models as experiments: spec, validation, the scene task's batches, SFT and preference runs through Trainer.Run.</summary>
public sealed class VisionExperimentTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vision-run-").FullName;
    public void Dispose() => Directory.Delete(directory, recursive: true);

    /// <summary>32x32 scenes, 8x8 patches pooled to 4 prefix tokens, width-16 encoder and one-layer decoder.</summary>
    private static ExperimentSpec Sft(int steps = 4, bool freezeEncoder = false) => new()
    {
        Name = "vlm",
        Model = ModelSpec.Llama(vocab: SceneTaskSpec.Vocabulary, width: 16, depth: 1, heads: 2) with { MaxSequenceLength = 16 },
        Vision = new VisionSpec
        {
            ImageSize = 32, PatchSize = 8, Width = 16, Depth = 1, Heads = 2, PrefixTokens = 4,
            FeedForward = new DenseFeedForward { Hidden = 32, Activation = Activation.Gelu }, FreezeEncoder = freezeEncoder,
        },
        Task = new SceneTaskSpec(),
        Training = new TrainingSpec
        {
            Optimizer = new AdamW { Lr = 3e-3, WeightDecay = 0 },
            Schedule = new ConstantSchedule(),
            Budget = new StepBudget(steps),
            GlobalBatch = 8,
            MicroBatch = 4,
            Eval = new EvalSpec { Every = 0, Batches = 1, Problems = 10 },
            Checkpoint = new CheckpointSpec { Every = 1, Keep = 1 },
            Seed = 2,
        },
    };

    private static ExperimentSpec Preference(string sftRun, PreferenceObjective objective, int steps = 2) =>
        Sft(steps) with
        {
            Name = "preference",
            Init = new RunSource { Path = sftRun },
            Preference = objective,
            Training = Sft(steps).Training with { Optimizer = new AdamW { Lr = 1e-3, WeightDecay = 0 }, GlobalBatch = 4, MicroBatch = 2 },
        };

    private string TrainSft(string name = "sft")
    {
        var path = Path.Combine(directory, name);
        Trainer.Run(Sft(), new TrainOptions { RunDirectory = path });
        return path;
    }

    private static Dictionary<string, float[]> Weights(string runDirectory, ExperimentSpec spec)
    {
        using var model = VisionModelLoader.Load(new RunSource { Path = runDirectory }, new VisionLanguageSpec { Vision = spec.Vision!, Decoder = spec.Model });
        return model.named_parameters().ToDictionary(p => p.name, p => p.parameter.data<float>().ToArray());
    }

    [Fact]
    public void AVisionSpecRoundTripsThroughJsonAndATextSpecHasNoVisionFields()
    {
        var spec = Sft() with { Init = new RunSource { Path = "runs/sft" }, Preference = new SvcoSpec { BetaLoserReject = 0.05 } };
        var json = SpecJson.Serialize(spec);
        Assert.Contains("\"vision\": {", json);
        Assert.Contains("\"kind\": \"scenes\"", json);
        Assert.Contains("\"kind\": \"svco\"", json);
        Assert.Equal(spec, SpecJson.Deserialize<ExperimentSpec>(json, "spec.json"));
        foreach (var objective in new PreferenceObjective[] { new TextDpoSpec { Beta = 0.2 }, new ImageDpoSpec { Beta = 0.3 } })
            Assert.Equal(spec with { Preference = objective }, SpecJson.Deserialize<ExperimentSpec>(SpecJson.Serialize(spec with { Preference = objective }), "spec.json"));
        var text = SpecJson.Serialize(new ExperimentSpec());
        Assert.DoesNotContain("\"vision\"", text);
        Assert.DoesNotContain("\"preference\"", text);
    }

    [Fact]
    public void ValidationErrorsNameTheirPaths()
    {
        string[] Paths(ExperimentSpec spec) => spec.Validate().Select(e => e.Path).ToArray();
        Assert.Empty(Sft().Validate());
        Assert.Contains("vision.patchSize", Paths(Sft() with { Vision = Sft().Vision! with { ImageSize = 30 } }));
        Assert.Contains("vision.heads", Paths(Sft() with { Vision = Sft().Vision! with { Heads = 3 } }));
        Assert.Contains("vision.prefixTokens", Paths(Sft() with { Vision = Sft().Vision! with { PrefixTokens = 3 } }));
        Assert.Contains("task", Paths(Sft() with { Task = new SparseParity() }));
        Assert.Contains("vision", Paths(Sft() with { Vision = null }));
        Assert.Contains("model.maxSequenceLength", Paths(Sft() with { Model = Sft().Model with { MaxSequenceLength = 13 } }));
        Assert.Empty(Paths(Sft() with { Model = Sft().Model with { MaxSequenceLength = 14 } }));
        Assert.Contains("task.questionFraction", Paths(Sft() with { Task = new SceneTaskSpec { QuestionFraction = 1.5 } }));
        Assert.Contains("init", Paths(Sft() with { Preference = new SvcoSpec() }));
        Assert.Contains("preference.beta", Paths(Preference("runs/x", new TextDpoSpec { Beta = 0 })));
        Assert.Contains("preference", Paths(Preference("runs/x", new SvcoSpec { BetaWinnerAttend = 0, BetaWinnerReject = 0, BetaLoserAttend = 0, BetaLoserReject = 0 })));
        Assert.Contains("vision", Paths(Preference("runs/x", new SvcoSpec()) with { Vision = null, Task = new SparseParity() }));
        Assert.Contains("init", Paths(Sft() with { Init = new InterpolatedSource { A = new RunSource { Path = "a" }, B = new RunSource { Path = "b" }, Alpha = 0.5 } }));
        Assert.Contains("training.divergence.mode", Paths(Sft() with { Training = Sft().Training with { Divergence = new DivergenceSpec { Mode = DivergenceMode.Rollback } } }));
        var message = Assert.Throws<SpecValidationException>(() => Trainer.Run(Sft() with { Vision = Sft().Vision! with { ImageSize = 30 } },
            new TrainOptions { RunDirectory = Path.Combine(directory, "invalid") })).Message;
        Assert.Contains("vision.patchSize", message);
        Assert.False(Directory.Exists(Path.Combine(directory, "invalid")));
    }

    [Fact]
    public void SceneBatchesScoreTheResponseTokensOnly()
    {
        var task = (SceneTask)TaskFactory.Create(new SceneTaskSpec { QuestionFraction = 0.5, TextOnlyEvery = 3 }, 5);
        using var batch = task.TrainImageBatch(step: 0, microIndex: 1, size: 24);
        Assert.Equal(new long[] { 24, 3, 32, 32 }, batch.Images!.shape);
        var length = task.SequenceLength;
        var inputs = batch.Text.Inputs.data<long>().ToArray();
        var targets = batch.Text.Targets.data<long>().ToArray();
        var mask = batch.Text.LossMask.data<float>().ToArray();
        var padding = batch.Text.Padding!.data<bool>().ToArray();
        var kinds = new HashSet<int>();
        for (var b = 0; b < 24; b++)
        {
            var text = batch.Examples[b].Text;
            kinds.Add(text.Response.Length);
            var row = Enumerable.Range(b * length, length).ToArray();
            // The scored targets, in order, are exactly the response (answer word or caption, then <eos>).
            Assert.Equal(text.Response, row.Where(i => mask[i] == 1f).Select(i => targets[i]).ToArray());
            // The inputs are the prompt and the response but its last token, then padding that is never scored.
            Assert.Equal(text.Sequence[..^1], row.Where(i => !padding[i]).Select(i => inputs[i]).ToArray());
            Assert.All(row.Where(i => padding[i]), i => Assert.Equal(0f, mask[i]));
            Assert.Equal("<bos>", SceneVocabulary.Decode(text.Prompt).Split(' ')[0]);
        }
        Assert.Equal(new HashSet<int> { 2, 7 }, kinds); // questions (word, <eos>) and captions (six words, <eos>)
        using var textOnly = task.TrainImageBatch(step: 2, microIndex: 0, size: 4);
        Assert.Null(textOnly.Images);
        // The same draw again is the same batch; through ITask the texts come without images.
        using var again = task.TrainBatch(0, 1, 24);
        Assert.Equal(inputs, again.Inputs.data<long>().ToArray());
        // Held-out examples never come from training scenes.
        Assert.All(task.ValidationExamples(0, 32), e => Assert.True(task.IsHeldOut(e.Scene)));
        Assert.All(task.TrainExamples(0, 0, 32), e => Assert.False(task.IsHeldOut(e.Scene)));
    }

    [Fact]
    public void AVisionSftRunTrainsFromASpecAndResumesBitIdentically()
    {
        var whole = Trainer.Run(Sft(), new TrainOptions { RunDirectory = Path.Combine(directory, "whole") });
        Assert.Equal(4, whole.Steps);
        Assert.All(whole.TrainLosses, l => Assert.True(double.IsFinite(l) && l > 0));
        Assert.True(whole.FinalEval.Accuracy is >= 0 and <= 1);
        Assert.True(File.Exists(Path.Combine(whole.RunDirectory, "summary.json")));
        var events = MetricsLog.Read(Path.Combine(whole.RunDirectory, "metrics.jsonl"));
        var eval = Assert.Single(events, e => (string?)e["event"] == "eval");
        Assert.True(eval["textOnlyLoss"]!.GetValue<double>() > 0);
        Assert.Equal(4, events.Count(e => (string?)e["event"] == "train"));
        // The first step's loss is the fresh model's response loss on the step's batches.
        using (var fresh = VisionModelCompiler.Build(new VisionLanguageSpec { Vision = Sft().Vision!, Decoder = Sft().Model }, seed: 2))
        using (no_grad())
        {
            var task = (SceneTask)TaskFactory.Create(Sft().Task, 2);
            double nll = 0, tokens = 0;
            for (var m = 0; m < 2; m++)
            {
                using var batch = task.TrainImageBatch(0, m, 4);
                nll += VisionEvaluation.ResponseNll(fresh, batch).item<float>();
                tokens += batch.Text.LossMask.sum().item<float>();
            }
            Assert.Equal(nll / tokens, whole.TrainLosses[0], 4);
        }

        var resumedPath = Path.Combine(directory, "resumed");
        var stopped = Trainer.Run(Sft(), new TrainOptions { RunDirectory = resumedPath, StopAfterStep = 2 });
        Assert.Equal(2, stopped.Steps);
        var resumed = Trainer.Run(Sft(), new TrainOptions { RunDirectory = resumedPath });
        Assert.Equal(whole.TrainLosses, resumed.TrainLosses);
        Assert.Equal(whole.FinalEval, resumed.FinalEval);
        var (a, b) = (Weights(whole.RunDirectory, Sft()), Weights(resumedPath, Sft()));
        Assert.Equal(a.Keys, b.Keys);
        foreach (var name in a.Keys) Assert.Equal(a[name], b[name]);
    }

    [Fact]
    public void AFrozenEncoderKeepsItsInitialWeights()
    {
        var spec = Sft(steps: 2, freezeEncoder: true);
        var result = Trainer.Run(spec, new TrainOptions { RunDirectory = Path.Combine(directory, "frozen") });
        using var fresh = VisionModelCompiler.Build(new VisionLanguageSpec { Vision = spec.Vision!, Decoder = spec.Model }, seed: 2);
        var trained = Weights(result.RunDirectory, spec);
        foreach (var (name, parameter) in fresh.named_parameters())
        {
            var same = trained[name].SequenceEqual(parameter.data<float>().ToArray());
            Assert.True(name.StartsWith("encoder.") == same, $"{name}: {(same ? "unchanged" : "changed")}");
        }
    }

    [Theory]
    [InlineData("svco")]
    [InlineData("textDpo")]
    [InlineData("imageDpo")]
    public void APreferenceRunStartsFromTheSftRunAgainstItsFrozenWeights(string kind)
    {
        var sft = TrainSft();
        PreferenceObjective objective = kind switch
        {
            "svco" => new SvcoSpec { BetaLoserReject = 0 },
            "textDpo" => new TextDpoSpec { Beta = 0.5 },
            _ => new ImageDpoSpec { Beta = 0.5 },
        };
        var spec = Preference(sft, objective);
        var result = Trainer.Run(spec, new TrainOptions { RunDirectory = Path.Combine(directory, kind) });
        Assert.Equal(2, result.Steps);
        // At step 0 the policy is the reference: every margin is 0 and each enabled term is -log s(0) = ln 2.
        var terms = kind == "svco" ? 3 : 1;
        Assert.Equal(terms * Math.Log(2), result.TrainLosses[0], 5);
        Assert.True(Math.Abs(result.TrainLosses[1] - terms * Math.Log(2)) > 1e-7, "the second step starts from moved weights");
        var events = MetricsLog.Read(Path.Combine(result.RunDirectory, "metrics.jsonl"));
        Assert.Equal(2, events.Count(e => (string?)e["event"] == "preference"));
        var eval = Assert.Single(events, e => (string?)e["event"] == "eval");
        Assert.True(eval["pairedAccuracy"]!.GetValue<double>() is >= 0 and <= 1);
        // The init run's weights are untouched, the preference run's differ from them.
        var (before, after) = (Weights(sft, Sft()), Weights(result.RunDirectory, spec));
        Assert.Contains(before.Keys, name => !before[name].SequenceEqual(after[name]));
    }

    [Fact]
    public void APreferenceRunResumesBitIdenticallyAndReportsProgress()
    {
        var sft = TrainSft();
        var spec = Preference(sft, new SvcoSpec(), steps: 3);
        var progress = new List<PreferenceProgress>();
        var whole = Trainer.Run(spec, new TrainOptions { RunDirectory = Path.Combine(directory, "whole"), OnPreferenceProgress = progress.Add });
        Assert.Equal(new long[] { 1, 2, 3 }, progress.Select(p => p.Step));
        Assert.All(progress, p => Assert.Equal(4, p.MeanMargins.Count));
        Assert.Equal(0.0, progress[0].MeanMargins[0], 6);
        var resumedPath = Path.Combine(directory, "resumed");
        Trainer.Run(spec, new TrainOptions { RunDirectory = resumedPath, StopAfterStep = 1 });
        var resumed = Trainer.Run(spec, new TrainOptions { RunDirectory = resumedPath });
        Assert.Equal(whole.TrainLosses, resumed.TrainLosses);
        var (a, b) = (Weights(whole.RunDirectory, spec), Weights(resumedPath, spec));
        foreach (var name in a.Keys) Assert.Equal(a[name], b[name]);
    }

    [Fact]
    public void AnInitOfAnotherArchitectureNamesTheFirstDifferingField()
    {
        var sft = TrainSft();
        var spec = Preference(sft, new TextDpoSpec());
        var wider = spec with { Vision = spec.Vision! with { Width = 24 } };
        var error = Assert.Throws<ModelSourceException>(() => Trainer.Run(wider, new TrainOptions { RunDirectory = Path.Combine(directory, "wider") }));
        Assert.Contains("vision.width", error.Message);
        Assert.False(Directory.Exists(Path.Combine(directory, "wider")));
        // Freezing is not architecture: a preference run may freeze what the SFT run trained.
        var frozen = spec with { Vision = spec.Vision! with { FreezeEncoder = true, FreezeProjector = true } };
        Assert.Equal(2, Trainer.Run(frozen, new TrainOptions { RunDirectory = Path.Combine(directory, "frozen") }).Steps);
        // A text-only experiment cannot load the vision model's checkpoint.
        var textOnly = new ExperimentSpec
        {
            Name = "text", Model = spec.Model, Task = new SparseParity { Bits = 6, Secret = 2 }, Init = new RunSource { Path = sft },
            Training = spec.Training with { Eval = new EvalSpec { Every = 0, Batches = 1, Problems = 0 } },
        };
        var textError = Assert.ThrowsAny<Exception>(() => Trainer.Run(textOnly, new TrainOptions { RunDirectory = Path.Combine(directory, "text") }));
        Assert.Contains("vision", textError.Message);
    }
}
