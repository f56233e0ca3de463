using ModelDsl.Core;
using ModelDsl.Core.Json;
using ModelDsl.Core.Model;
using ModelDsl.Core.Tasks;
using ModelDsl.Core.Training;

namespace ModelDsl.Runtime.Tests;

/// <summary>Every bad spec is rejected with the path of the offending field and the rule it breaks.</summary>
public class SpecValidationTests
{
    private static readonly ExperimentSpec Good = new()
    {
        Model = ModelSpec.Llama(vocab: 8, width: 64, depth: 2, heads: 4, kvHeads: 2),
        Task = new SparseParity { Bits = 8, Secret = 2 },
        Training = new TrainingSpec { GlobalBatch = 8, MicroBatch = 4, Budget = new StepBudget(10) },
    };

    [Fact]
    public void GoodSpecValidates() => Assert.Empty(Good.Validate());

    public static TheoryData<string, Func<ExperimentSpec, ExperimentSpec>, string> BadSpecs => new()
    {
        { "model.blocks[0].attention.heads", s => s with { Model = ModelSpec.Llama(8, 64, 2, heads: 3) }, "does not divide width 64" },
        { "model.blocks", s => s with { Model = ModelSpec.Llama(8, 64, depth: 0, heads: 4) }, "at least one block" },
        { "training.optimizer.lr", s => s with { Training = s.Training with { Optimizer = new AdamW { Lr = -1e-3 } } }, "positive" },
        { "model.blocks[0].attention.kvHeads", s => s with { Model = ModelSpec.Llama(8, 64, 2, heads: 4, kvHeads: 3) }, "does not divide heads 4" },
        { "training.microBatch", s => s with { Training = s.Training with { GlobalBatch = 10, MicroBatch = 4 } }, "does not divide globalBatch 10" },
        { "model.vocab", s => s with { Model = ModelSpec.Llama(2, 64, 2, 4) }, "smaller than the task's vocabulary 4" },
        { "model.width", s => s with { Model = s.Model with { Width = 0 } }, "must be positive" },
        { "task.secret", s => s with { Task = new SparseParity { Bits = 4, Secret = 6 } }, "[1, bits = 4]" },
        { "training.schedule.warmupFraction", s => s with { Training = s.Training with { Schedule = new WarmupCosine { WarmupFraction = 1.5 } } }, "[0, 1)" },
        { "training.schedule", s => s with { Training = s.Training with { Schedule = new WarmupStableDecay { WarmupFraction = 0.5, DecayFraction = 0.7 } } }, "exceeds 1" },
        { "training.budget.count", s => s with { Training = s.Training with { Budget = new StepBudget(0) } }, "at least 1" },
        { "training.optimizer.beta2", s => s with { Training = s.Training with { Optimizer = new AdamW { Beta2 = 1.0 } } }, "[0, 1)" },
        { "training.device", s => s with { Training = s.Training with { Device = "tpu" } }, "not a device" },
        { "model.blocks[0].attention.position", s => s with { Model = s.Model with { Blocks = ValueList.Of(new BlockSpec { Attention = new AttentionSpec { Heads = 4, HeadDim = 15 } }) } }, "even head dimension" },
        { "task.path", s => s with { Task = new TextCorpus { Path = "" } }, "corpus file is required" },
        { "model.maxSequenceLength", s => s with { Model = s.Model with { MaxSequenceLength = 4 } }, "shorter than the task's sequences" },
    };

    [Theory]
    [MemberData(nameof(BadSpecs))]
    public void BadSpecIsRejectedWithPathAndRule(string path, Func<ExperimentSpec, ExperimentSpec> spoil, string rule)
    {
        var errors = spoil(Good).Validate();
        Assert.Contains(errors, e => e.Path == path && e.Message.Contains(rule));
    }

    [Fact]
    public void EveryErrorIsReportedNotJustTheFirst()
    {
        var bad = Good with
        {
            Model = ModelSpec.Llama(8, 64, 2, heads: 3),
            Training = Good.Training with { Optimizer = new AdamW { Lr = 0 }, GlobalBatch = 0 },
        };
        var paths = bad.Validate().Select(e => e.Path).ToHashSet();
        Assert.Superset(new HashSet<string> { "model.blocks[0].attention.heads", "model.blocks[1].attention.heads", "training.optimizer.lr", "training.globalBatch" }, paths);
    }

    [Fact]
    public void UnknownJsonFieldIsRejectedWithItsFullPath()
    {
        var json = SpecJson.Serialize(Good).Replace("\"heads\"", "\"headz\"");
        var e = Assert.Throws<SpecFormatException>(() => SpecJson.Deserialize<ExperimentSpec>(json, "exp.json"));
        Assert.Contains("exp.json", e.Message);
        Assert.Contains("$.model.blocks[0].attention.headz", e.Message);
    }

    [Fact]
    public void UnknownKindIsRejected()
    {
        var json = SpecJson.Serialize(Good).Replace("\"kind\": \"adamW\"", "\"kind\": \"adamZ\"");
        var e = Assert.Throws<SpecFormatException>(() => SpecJson.Deserialize<ExperimentSpec>(json, "exp.json"));
        Assert.Contains("training.optimizer", e.Message);
    }

    [Fact]
    public void JsonRoundTripPreservesTheSpec()
    {
        var back = SpecJson.Deserialize<ExperimentSpec>(SpecJson.Serialize(Good));
        Assert.Equal(Good, back);
    }

    [Fact]
    public void MissingSpecFileIsNamed()
    {
        var e = Assert.Throws<SpecFormatException>(() => SpecJson.LoadExperiment("/no/such/spec.json"));
        Assert.Contains("/no/such/spec.json", e.Message);
    }
}

public class SpecJsonNullTests
{
    [Fact]
    public void NullThatDisablesAFeatureSurvivesRoundTrip()
    {
        var spec = new ExperimentSpec { Training = new TrainingSpec { ClipGradNorm = null } };
        var back = SpecJson.Deserialize<ExperimentSpec>(SpecJson.Serialize(spec));
        Assert.Null(back.Training.ClipGradNorm);
    }
}
