using ModelDsl.Core;
using ModelDsl.Core.Json;
using ModelDsl.Core.Variants;

namespace ModelDsl.Runtime.Tests;

/// <summary>
/// Spec files on disk keep loading: every committed experiment and sweep spec (the DSL's lowering
/// fixtures, which cover every optimizer, task, gate, MoE option, position, schedule, budget and
/// precision) is read from its file and written back byte for byte. A format change that breaks
/// stored specs fails here. (Lowering is total, so some fixtures are deliberately invalid specs;
/// validation is not asked of them.)
/// </summary>
public sealed class StoredSpecTests
{
    private static string FixtureDirectory()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !Directory.Exists(Path.Combine(directory.FullName, "tests", "ModelDsl.Tests", "fixtures", "lowering")))
            directory = directory.Parent;
        return directory is null
            ? throw new DirectoryNotFoundException($"tests/ModelDsl.Tests/fixtures/lowering not found above {AppContext.BaseDirectory}")
            : Path.Combine(directory.FullName, "tests", "ModelDsl.Tests", "fixtures", "lowering");
    }

    [Fact]
    public void EveryStoredSpecLoadsAndWritesBackUnchanged()
    {
        var files = Directory.GetFiles(FixtureDirectory(), "*.json");
        Assert.True(files.Length >= 80, $"expected the lowering fixtures, found {files.Length} files");
        var kinds = new HashSet<string>();
        foreach (var file in files)
        {
            var text = File.ReadAllText(file).ReplaceLineEndings("\n").TrimEnd('\n');
            if (System.Text.Json.Nodes.JsonNode.Parse(text)!.AsObject().ContainsKey("arms"))
            {
                var sweep = SpecJson.Deserialize<Core.Sweeps.SweepSpec>(text, file);
                Assert.True(text == SpecJson.Serialize(sweep).ReplaceLineEndings("\n"), $"{Path.GetFileName(file)} does not write back unchanged");
                continue;
            }
            var spec = SpecJson.LoadExperiment(file);
            Assert.True(text == SpecJson.Serialize(spec).ReplaceLineEndings("\n"), $"{Path.GetFileName(file)} does not write back unchanged");
            kinds.Add(VariantRegistry.KindOf(spec.Training.Optimizer));
            kinds.Add(VariantRegistry.KindOf(spec.Task));
        }
        // The stored files cover every optimizer and every task kind.
        foreach (var family in new[] { typeof(Core.Training.OptimizerSpec), typeof(Core.Tasks.TaskSpec) })
            foreach (var variant in VariantRegistry.Of(family))
                Assert.Contains(variant.Kind, kinds);
    }
}
