using System.Text.Json.Nodes;
using ModelDsl.Core;
using ModelDsl.Core.FineTune;
using ModelDsl.Core.Json;
using ModelDsl.Core.Model;
using ModelDsl.Core.Rl;
using ModelDsl.Core.Sweeps;
using ModelDsl.Core.Tasks;
using ModelDsl.Core.Training;
using ModelDsl.Core.Variants;
using ModelDsl.Core.Vision;

namespace ModelDsl.Runtime.Tests.Specs;

/// <summary>
/// Golden spec files: one committed JSON per registered kind of every IR family
/// (tests/fixtures/golden-specs/FAMILY/KIND.json, FAMILY the family's name without "Spec", camelCase),
/// an RL experiment and a full experiment with init, RL and sampling evaluation. Each file loads,
/// validates, writes back byte for byte and holds the kind its name says; a kind without a file fails.
/// The files are written once by MODELDSL_WRITE_GOLDEN_SPECS=1 and reviewed; afterwards they are the reference.
/// </summary>
public sealed class GoldenSpecTests
{
    internal static string Folder()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "modeldsl.fsx"))) directory = directory.Parent;
        return directory is null
            ? throw new DirectoryNotFoundException($"no repository root above {AppContext.BaseDirectory}")
            : Path.Combine(directory.FullName, "tests", "fixtures", "golden-specs");
    }

    /// <summary>"OptimizerSpec" -> "optimizer", "ModelSource" -> "modelSource".</summary>
    internal static string FolderOf(Type family)
    {
        var name = family.Name.EndsWith("Spec", StringComparison.Ordinal) ? family.Name[..^4] : family.Name;
        return char.ToLowerInvariant(name[0]) + name[1..];
    }

    private static readonly ExperimentSpec Base = new()
    {
        Name = "golden",
        Model = ModelSpec.Llama(vocab: 256, width: 32, depth: 2, heads: 4, kvHeads: 2) with { MaxSequenceLength = 512 },
        Task = new SparseParity(),
        Training = new TrainingSpec
        {
            Budget = new StepBudget(100),
            GlobalBatch = 16,
            MicroBatch = 8,
            Eval = new EvalSpec { Every = 20, Batches = 2, Problems = 64 },
            Checkpoint = new CheckpointSpec { Every = 50, Keep = 2 },
            Seed = 7,
            Threads = 2,
        },
    };

    private static ModelSpec EveryBlock(Func<BlockSpec, BlockSpec> edit) =>
        Base.Model with { Blocks = Base.Model.Blocks.Select(edit).ToArray() };

    /// <summary>A value of each kind with settings that validate (the defaults where they do).</summary>
    private static object Instance(Variant variant) => variant.Type.Name switch
    {
        nameof(StepBudget) => new StepBudget(200),
        nameof(TokenBudget) => new TokenBudget(100_000),
        nameof(ChinchillaBudget) => new ChinchillaBudget(20),
        nameof(TextCorpus) => new TextCorpus { Path = "data/corpus.txt", Length = 128, ValidationFraction = 0.1 },
        nameof(TaskMixture) => new TaskMixture
        {
            Components = new[]
            {
                new MixtureComponent { Domain = "parity", Task = new SparseParity(), Weight = 2 },
                new MixtureComponent { Domain = "flipflop", Task = new FlipFlop(), Weight = 1 },
            },
        },
        nameof(RunSource) => new RunSource { Path = "runs/pretrained" },
        nameof(CheckpointSource) => new CheckpointSource { Path = "runs/pretrained/checkpoints/step-00000100.ckpt" },
        nameof(InterpolatedSource) => new InterpolatedSource { A = new RunSource { Path = "runs/early" }, B = new RunSource { Path = "runs/late" }, Alpha = 0.25 },
        nameof(PerturbedSource) => new PerturbedSource { Source = new RunSource { Path = "runs/pretrained" }, Gamma = 0.01, NoiseSeed = 3 },
        nameof(CoordinateDescentSearch) => new CoordinateDescentSearch { Start = new[] { 1 }, MaxEdgeExtensions = 3 },
        nameof(HuggingFaceSource) => new HuggingFaceSource { Path = "hf/some-llama" },
        _ => Activator.CreateInstance(variant.Type) ?? throw new InvalidOperationException(variant.Type.Name),
    };

    /// <summary>A vision-language experiment (captioning SFT of the scenes task), as the DSL's example writes it.</summary>
    private static ExperimentSpec Vision => SpecJson.LoadExperiment(
        Path.Combine(Folder(), "..", "..", "ModelDsl.Tests", "fixtures", "lowering", "example-vlm-captioning.json"));

    /// <summary>The golden document of one kind: an experiment using it, or a sweep for a search.</summary>
    private static object Document(Type family, object value) => value switch
    {
        SceneTaskSpec t => Vision with { Task = t },
        PreferenceObjective p => Vision with { Preference = p, Init = new RunSource { Path = "runs/vlm-captioning" } },
        OptimizerSpec o => Base with { Training = Base.Training with { Optimizer = o } },
        ScheduleSpec s => Base with { Training = Base.Training with { Schedule = s } },
        BudgetSpec b => Base with { Training = Base.Training with { Budget = b } },
        TaskSpec t => Base with { Task = t },
        PositionSpec p => Base with { Model = EveryBlock(b => b with { Attention = b.Attention with { Position = p } }) },
        FeedForwardSpec f => Base with { Model = EveryBlock(b => b with { FeedForward = f }) },
        NormSpec n => Base with { Model = EveryBlock(b => b with { Norm = n }) with { FinalNorm = n } },
        ModelSource m => Base with { Init = m, Training = Base.Training with { Optimizer = new AdamW { Lr = 1e-4 } } },
        SearchSpec s => new SweepSpec
        {
            Name = "golden-sweep",
            Arms = new[]
            {
                new SweepArm
                {
                    Label = "adamW", Base = Base, Search = s,
                    Axes = new[] { new SweepAxis { Path = "training.optimizer.lr", Values = new[] { 1e-3, 3e-3 } } },
                },
            },
            Ratios = new[] { 1.0, 2.0 },
        },
        _ => throw new InvalidOperationException($"no golden document for the family {family.Name}: add a case to GoldenSpecTests.Document"),
    };

    /// <summary>The node of <paramref name="family"/> that a golden document was written for.</summary>
    private static object Node(Type family, object document)
    {
        if (document is SweepSpec sweep) return sweep.Arms[0].Search;
        var spec = (ExperimentSpec)document;
        return family.Name switch
        {
            nameof(OptimizerSpec) => spec.Training.Optimizer,
            nameof(ScheduleSpec) => spec.Training.Schedule,
            nameof(BudgetSpec) => spec.Training.Budget,
            nameof(TaskSpec) => spec.Task,
            nameof(PositionSpec) => spec.Model.Blocks[0].Attention.Position,
            nameof(FeedForwardSpec) => spec.Model.Blocks[0].FeedForward,
            nameof(NormSpec) => spec.Model.Blocks[0].Norm,
            nameof(ModelSource) => spec.Init!,
            nameof(PreferenceObjective) => spec.Preference!,
            _ => throw new InvalidOperationException($"no golden rule for the family {family.Name}"),
        };
    }

    private static readonly ExperimentSpec Rl = Base with
    {
        Name = "golden-rl",
        Task = new ChainedArithmetic(),
        Init = new RunSource { Path = "runs/pretrained" },
        Rl = new RlSpec { GroupSize = 4, PromptsPerStep = 8, MicroBatch = 16, Kl = new KlSpec { Beta = 0.01 } },
    };

    private static readonly ExperimentSpec Full = Rl with
    {
        Name = "golden-full",
        Model = Rl.Model with { Vocab = 257 },
        Init = new PerturbedSource
        {
            Source = new InterpolatedSource { A = new RunSource { Path = "runs/early" }, B = new CheckpointSource { Path = "runs/late/checkpoints/step-00000100.ckpt" }, Alpha = 0.5 },
            Gamma = 0.005,
            NoiseSeed = 11,
        },
        Rl = Rl.Rl! with
        {
            DynamicSampling = new DynamicSamplingSpec(),
            Hints = new HintSpec { Fraction = 0.5, Curriculum = new[] { new HintStage(0.5, 10), new HintStage(0.25, 10) } },
            EntropyCoefficient = 0.001,
        },
        Training = Rl.Training with { Eval = Rl.Training.Eval with { Sampling = new SamplingEvalSpec { Problems = 16, Samples = 8, Ks = new[] { 1, 2, 4, 8 } } } },
    };

    private static IEnumerable<(string RelativePath, object Document)> Expected()
    {
        foreach (var family in VariantRegistry.Families())
            foreach (var variant in VariantRegistry.Of(family))
                yield return (Path.Combine(FolderOf(family), variant.Kind + ".json"), Document(family, Instance(variant)));
        yield return ("rl.json", Rl);
        yield return ("full-experiment.json", Full);
    }

    private static IReadOnlyList<Core.Validation.ValidationError> Validate(object document) =>
        document is SweepSpec sweep ? sweep.Validate() : ((ExperimentSpec)document).Validate();

    private static object Load(string path)
    {
        var text = File.ReadAllText(path);
        return JsonNode.Parse(text)!.AsObject().ContainsKey("arms")
            ? SpecJson.Deserialize<SweepSpec>(text, path)
            : SpecJson.Deserialize<ExperimentSpec>(text, path);
    }

    private static string Text(string path) => File.ReadAllText(path).ReplaceLineEndings("\n").TrimEnd('\n');

    [Fact]
    public void EveryRegisteredKindOfEveryFamilyHasAGoldenFile()
    {
        if (Environment.GetEnvironmentVariable("MODELDSL_WRITE_GOLDEN_SPECS") == "1")
            foreach (var (relative, document) in Expected())
            {
                var path = Path.Combine(Folder(), relative);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllText(path, (document is SweepSpec s ? SpecJson.Serialize(s) : SpecJson.Serialize((ExperimentSpec)document)) + "\n");
            }
        var families = VariantRegistry.Families();
        Assert.True(families.Count >= 9, $"expected at least the nine IR families, found {families.Count}");
        var missing = families.SelectMany(f => VariantRegistry.Of(f).Select(v => Path.Combine(FolderOf(f), v.Kind + ".json")))
            .Where(relative => !File.Exists(Path.Combine(Folder(), relative))).ToList();
        Assert.True(missing.Count == 0, $"registered kinds without a golden spec file in {Folder()}: {string.Join(", ", missing)} " +
            "(write one, e.g. with MODELDSL_WRITE_GOLDEN_SPECS=1, and review it)");
        // And no stale files of kinds that no longer exist.
        var known = families.ToDictionary(FolderOf, f => VariantRegistry.Of(f).Select(v => v.Kind).ToHashSet());
        foreach (var directory in Directory.GetDirectories(Folder()))
        {
            var name = Path.GetFileName(directory);
            Assert.True(known.ContainsKey(name), $"golden folder '{name}' names no IR family");
            foreach (var file in Directory.GetFiles(directory, "*.json"))
                Assert.True(known[name].Contains(Path.GetFileNameWithoutExtension(file)), $"{name}/{Path.GetFileName(file)} names no registered kind");
        }
    }

    [Fact]
    public void EveryGoldenFileLoadsValidatesHoldsItsKindAndWritesBackUnchanged()
    {
        var checkedFiles = 0;
        foreach (var family in VariantRegistry.Families())
            foreach (var variant in VariantRegistry.Of(family))
            {
                var path = Path.Combine(Folder(), FolderOf(family), variant.Kind + ".json");
                if (!File.Exists(path)) continue; // reported by the coverage test
                var document = Load(path);
                Assert.True(Validate(document).Count == 0, $"{path}: {string.Join("; ", Validate(document))}");
                Assert.Equal(variant.Kind, VariantRegistry.KindOf(Node(family, document)));
                AssertWritesBack(path, document);
                checkedFiles++;
            }
        Assert.True(checkedFiles >= 36, $"only {checkedFiles} golden files were checked");
    }

    [Fact]
    public void TheRlAndFullExperimentsLoadValidateAndWriteBackUnchanged()
    {
        var rl = SpecJson.LoadExperiment(Path.Combine(Folder(), "rl.json"));
        Assert.Empty(rl.Validate());
        Assert.NotNull(rl.Rl);
        Assert.IsType<RunSource>(rl.Init);
        AssertWritesBack(Path.Combine(Folder(), "rl.json"), rl);

        var full = SpecJson.LoadExperiment(Path.Combine(Folder(), "full-experiment.json"));
        Assert.Empty(full.Validate());
        Assert.NotNull(full.Rl?.Hints?.Curriculum);
        Assert.NotNull(full.Rl!.DynamicSampling);
        Assert.NotNull(full.Training.Eval.Sampling);
        var init = Assert.IsType<PerturbedSource>(full.Init);
        Assert.IsType<InterpolatedSource>(init.Source);
        AssertWritesBack(Path.Combine(Folder(), "full-experiment.json"), full);
    }

    private static void AssertWritesBack(string path, object document)
    {
        var written = document is SweepSpec s ? SpecJson.Serialize(s) : SpecJson.Serialize((ExperimentSpec)document);
        Assert.True(Text(path) == written.ReplaceLineEndings("\n"), $"{path} does not write back unchanged");
        Assert.Contains($"\"formatVersion\": {SpecFormat.Current}", written);
    }
}
