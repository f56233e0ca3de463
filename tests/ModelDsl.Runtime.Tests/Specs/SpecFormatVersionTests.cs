using System.Text.Json.Nodes;
using ModelDsl.Core;
using ModelDsl.Core.Json;
using ModelDsl.Core.Sweeps;
using ModelDsl.Runtime.Runs;

namespace ModelDsl.Runtime.Tests.Specs;

/// <summary>
/// The spec format version (docs/architecture.md, "Spec format versions"): written first on every
/// experiment; a spec without it is version 1 and loads (migrated); a newer or an impossible version is
/// refused with a message naming the version, the file and the JSON path.
/// </summary>
public sealed class SpecFormatVersionTests
{
    private static string Fixture(string name) => Path.Combine(Path.GetDirectoryName(GoldenSpecTests.Folder())!, "spec-format", name);

    private static string WithVersion(string json, int version)
    {
        var root = JsonNode.Parse(json)!.AsObject();
        root.Remove("formatVersion");
        var copy = new JsonObject { ["formatVersion"] = version };
        foreach (var (key, value) in root.ToList())
        {
            root.Remove(key);
            copy[key] = value;
        }
        return copy.ToJsonString();
    }

    [Fact]
    public void EverySpecIsWrittenWithTheCurrentVersionFirst()
    {
        Assert.Equal(2, SpecFormat.Current);
        var json = SpecJson.Serialize(new ExperimentSpec { Name = "v" });
        var first = JsonNode.Parse(json)!.AsObject().First();
        Assert.Equal("formatVersion", first.Key);
        Assert.Equal(SpecFormat.Current, first.Value!.GetValue<int>());
    }

    [Fact]
    public void AStoredSpecWrittenBeforeTheFieldLoadsAsVersionOneAndIsMigrated()
    {
        var path = Fixture("version-1-unversioned.json");
        var text = File.ReadAllText(path);
        Assert.DoesNotContain("formatVersion", text); // the stored file predates the field
        var spec = SpecJson.LoadExperiment(path);
        Assert.Equal(SpecFormat.Current, spec.FormatVersion);
        Assert.Empty(spec.Validate());
        // Written back, it differs only by the version.
        var written = JsonNode.Parse(SpecJson.Serialize(spec))!.AsObject();
        Assert.Equal(SpecFormat.Current, (int)written["formatVersion"]!);
        written.Remove("formatVersion");
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(text), written), "the migrated spec keeps every other field");
        // An explicit version 1 is the same spec.
        Assert.Equal(spec, SpecJson.Deserialize<ExperimentSpec>(WithVersion(text, 1), path));
    }

    [Theory]
    [InlineData(3, "formatVersion 3 is newer than this version of ModelDsl reads (formats 1 to 2)")]
    [InlineData(99, "formatVersion 99 is newer")]
    [InlineData(0, "formatVersion 0 is not a spec format version (the first is 1)")]
    [InlineData(-4, "formatVersion -4 is not a spec format version")]
    public void AnUnreadableVersionIsRefusedNamingTheVersionFileAndPath(int version, string message)
    {
        var text = WithVersion(File.ReadAllText(Fixture("version-1-unversioned.json")), version);
        var error = Assert.Throws<SpecFormatException>(() => SpecJson.Deserialize<ExperimentSpec>(text, "specs/future.json"));
        Assert.StartsWith("specs/future.json at $.formatVersion", error.Message);
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void ASweepArmsExperimentIsVersionCheckedToo()
    {
        var arm = new SweepArm { Label = "a", Base = new ExperimentSpec { Name = "b" } };
        var json = JsonNode.Parse(SpecJson.Serialize(new SweepSpec { Name = "s", Arms = new[] { arm } }))!;
        json["arms"]![0]!["base"]!["formatVersion"] = 7;
        var error = Assert.Throws<SpecFormatException>(() => SpecJson.Deserialize<SweepSpec>(json.ToJsonString(), "sweep.json"));
        Assert.Contains("$.arms[0].base.formatVersion", error.Message);
        Assert.Contains("formatVersion 7 is newer", error.Message);
    }

    [Fact]
    public void ASpecBuiltInCodeWithAnotherVersionFailsValidationAtTheField()
    {
        var valid = SpecJson.LoadExperiment(Fixture("version-1-unversioned.json"));
        Assert.Empty(valid.Validate());
        var errors = (valid with { FormatVersion = 1 }).Validate();
        var error = Assert.Single(errors);
        Assert.Equal("formatVersion", error.Path);
        Assert.Contains("is not the current spec format version 2", error.Message);
    }

    [Fact]
    public void ACheckpointWrittenBeforeTheFieldStillMatchesItsSpec()
    {
        var spec = SpecJson.LoadExperiment(Fixture("version-1-unversioned.json"));
        var current = SpecJson.Serialize(spec);
        var unversioned = File.ReadAllText(Fixture("version-1-unversioned.json"));
        Assert.Null(Checkpoint.SpecMismatch(current, unversioned));
        // Any other difference is still a different spec.
        var other = SpecJson.Serialize(spec with { Training = spec.Training with { Seed = spec.Training.Seed + 1 } });
        Assert.Contains("differs in: training", Checkpoint.SpecMismatch(other, unversioned));
    }
}
