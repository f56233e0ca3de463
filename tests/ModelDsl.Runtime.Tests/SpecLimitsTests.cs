using System.Text.Json.Nodes;
using ModelDsl.Core;
using ModelDsl.Core.Json;
using ModelDsl.Core.Model;
using ModelDsl.Core.Training;

namespace ModelDsl.Runtime.Tests;

/// <summary>Spec files: required sections, duplicate keys, and upper bounds on sizes, each an error naming the path.</summary>
public sealed class SpecLimitsTests
{
    private static readonly ExperimentSpec Good = new() { Name = "limits", Model = ModelSpec.Llama(8, 16, 1, 2) };

    [Theory]
    [InlineData("name")]
    [InlineData("model")]
    [InlineData("task")]
    [InlineData("training")]
    public void A_spec_file_missing_a_required_section_is_an_error_naming_it(string section)
    {
        var json = JsonNode.Parse(SpecJson.Serialize(Good))!.AsObject();
        json.Remove(section);
        var e = Assert.Throws<SpecFormatException>(() => SpecJson.Deserialize<ExperimentSpec>(json.ToJsonString(), "exp.json"));
        Assert.Contains("exp.json", e.Message);
        Assert.Contains($"'{section}'", e.Message);
    }

    [Fact]
    public void A_duplicate_key_is_an_error_naming_its_path()
    {
        var json = SpecJson.Serialize(Good).Replace("\"width\": 16,", "\"width\": 16, \"width\": 32,");
        var e = Assert.Throws<SpecFormatException>(() => SpecJson.Deserialize<ExperimentSpec>(json, "exp.json"));
        Assert.Contains("exp.json", e.Message);
        Assert.Contains("width", e.Message);
    }

    [Fact]
    public void Sizes_have_upper_bounds()
    {
        var huge = Good with
        {
            Model = ModelSpec.Llama(vocab: 100_000_000, width: 1_000_000, depth: 1, heads: 4096) with { MaxSequenceLength = 10_000_000 },
            Training = Good.Training with { GlobalBatch = 10_000_000, MicroBatch = 10_000_000, Budget = new StepBudget(10_000_000_000) },
        };
        var paths = huge.Validate().Select(e => e.Path).ToHashSet();
        Assert.Superset(paths, new HashSet<string> { "model.vocab", "model.width", "model.maxSequenceLength", "model.blocks[0].attention.heads",
            "training.globalBatch", "training.budget.count" });
        Assert.Empty(Good.Validate());
    }
}
