using System.Reflection;
using ModelDsl.Core.Json;
using ModelDsl.Core.Model;
using ModelDsl.Core.Sweeps;
using ModelDsl.Core.Tasks;
using ModelDsl.Core.Training;
using ModelDsl.Core.Variants;
using ModelDsl.Runtime.Attention;
using ModelDsl.Runtime.Optim;
using ModelDsl.Runtime.Tasks;
using ModelDsl.Runtime.Variants;
using TorchSharp;

namespace ModelDsl.Runtime.Tests.Variants;

/// <summary>
/// Every IR variant is registered once and everything else follows: each family is known, each
/// variant of a runtime-built family has an implementation of the right type, each kind is in the
/// architecture page's table, and JSON reads back what it writes.
/// </summary>
public sealed class RegistrationTests
{
    /// <summary>Families the runtime builds objects for, with what their implementations must return.</summary>
    private static readonly Dictionary<Type, Type> Built = new()
    {
        [typeof(OptimizerSpec)] = typeof(IOptimizer),
        [typeof(TaskSpec)] = typeof(ITask),
        [typeof(PositionSpec)] = typeof(AttentionCore),
        [typeof(FeedForwardSpec)] = typeof(ModelDsl.Runtime.Layers.FeedForwardLayer),
        [typeof(NormSpec)] = typeof(torch.nn.Module<torch.Tensor, torch.Tensor>),
    };

    /// <summary>Families implemented in one place rather than per variant: in the IR itself (schedules and
    /// budgets are pure arithmetic), by the sweep runner's search loop, or by the model loader (sources compose recursively).</summary>
    private static readonly Type[] SelfImplemented = [typeof(ScheduleSpec), typeof(BudgetSpec), typeof(SearchSpec), typeof(ModelDsl.Core.FineTune.ModelSource),
        typeof(ModelDsl.Core.Vision.PreferenceObjective)];

    /// <summary>The family names used in the docs table.</summary>
    private static readonly Dictionary<Type, string> DocsName = new()
    {
        [typeof(OptimizerSpec)] = "optimizer", [typeof(TaskSpec)] = "task", [typeof(PositionSpec)] = "position",
        [typeof(FeedForwardSpec)] = "feedForward", [typeof(NormSpec)] = "norm", [typeof(ScheduleSpec)] = "schedule",
        [typeof(BudgetSpec)] = "budget", [typeof(SearchSpec)] = "search", [typeof(ModelDsl.Core.FineTune.ModelSource)] = "modelSource",
        [typeof(ModelDsl.Core.Vision.PreferenceObjective)] = "preference",
    };

    [Fact]
    public void EveryFamilyIsEitherBuiltByTheRuntimeOrImplementsItself()
    {
        // A new family must be added to one of the two lists: that is the decision of who implements it.
        Assert.Equal(Built.Keys.Concat(SelfImplemented).OrderBy(t => t.FullName).ToList(), VariantRegistry.Families());
    }

    [Fact]
    public void EveryVariantOfABuiltFamilyHasAnImplementationOfTheRightType()
    {
        foreach (var (family, result) in Built)
            foreach (var variant in VariantRegistry.Of(family))
            {
                var implementation = Implementations.Of(variant.Type);
                Assert.True(implementation is not null, $"{family.Name} kind '{variant.Kind}' ({variant.Type.Name}) has no [Implements] registration");
                var built = implementation is ConstructorInfo c ? c.DeclaringType! : ((MethodInfo)implementation!).ReturnType;
                Assert.True(result.IsAssignableFrom(built), $"{variant.Type.Name} is implemented by {built.Name}, which is not a {result.Name}");
            }
    }

    [Fact]
    public void EveryImplementationImplementsARegisteredVariant()
    {
        var registered = VariantRegistry.Families().SelectMany(f => VariantRegistry.Of(f)).Select(v => v.Type).ToHashSet();
        Assert.All(Implementations.ImplementedSpecs, spec => Assert.Contains(spec, registered));
    }

    [Fact]
    public void EveryKindHasARowInTheArchitectureTable()
    {
        var page = File.ReadAllLines(Path.Combine(RepositoryRoot(), "docs", "architecture.md"));
        foreach (var family in VariantRegistry.Families())
            foreach (var variant in VariantRegistry.Of(family))
                Assert.True(page.Any(line => line.StartsWith($"| {DocsName[family]} | `{variant.Kind}` | `{variant.Type.Name}` |")),
                    $"docs/architecture.md has no row for {DocsName[family]} kind '{variant.Kind}'");
    }

    [Fact]
    public void EveryVariantWithDefaultsRoundTripsThroughJsonUnderItsKind()
    {
        foreach (var family in VariantRegistry.Families())
            foreach (var variant in VariantRegistry.Of(family).Where(v => v.Type.GetConstructor(Type.EmptyTypes) is not null))
            {
                var value = Activator.CreateInstance(variant.Type)!;
                var json = System.Text.Json.JsonSerializer.Serialize(value, family, SpecJson.Options);
                Assert.Contains($"\"kind\": \"{variant.Kind}\"", json);
                var back = System.Text.Json.JsonSerializer.Deserialize(json, family, SpecJson.Options);
                Assert.Equal(value, back);
            }
    }

    [Fact]
    public void AnUnknownKindIsRejectedWithThePath()
    {
        var json = SpecJson.Serialize(new ModelDsl.Core.ExperimentSpec()).Replace("\"kind\": \"adamW\"", "\"kind\": \"adamX\"");
        var error = Assert.Throws<SpecFormatException>(() => SpecJson.Deserialize<ModelDsl.Core.ExperimentSpec>(json, "spec.json"));
        Assert.Contains("spec.json", error.Message);
        Assert.Contains("training.optimizer", error.Message);
    }

    [Fact]
    public void ASpecWrittenBeforeARenameSaysWhatChanged()
    {
        var json = SpecJson.Serialize(new ModelDsl.Core.ExperimentSpec { Model = ModelSpec.Llama(vocab: 4, width: 16, depth: 1, heads: 2) })
            .Replace("\"attention\": {", "\"mixer\": {");
        var error = Assert.Throws<SpecFormatException>(() => SpecJson.Deserialize<ModelDsl.Core.ExperimentSpec>(json, "old.json"));
        Assert.Contains("'mixer' was renamed 'attention'", error.Message);
        Assert.Contains("model.blocks[0]", error.Message);
    }

    [Fact]
    public void KindsAreUniqueWithinAFamily()
    {
        foreach (var family in VariantRegistry.Families())
            Assert.Equal(VariantRegistry.Of(family).Count, VariantRegistry.Of(family).Select(v => v.Kind).Distinct().Count());
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "docs", "architecture.md"))) directory = directory.Parent;
        return directory?.FullName ?? throw new DirectoryNotFoundException($"docs/architecture.md not found above {AppContext.BaseDirectory}");
    }
}
