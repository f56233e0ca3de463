using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using ModelDsl.Core.Variants;

namespace ModelDsl.Core.Json;

/// <summary>A spec file that cannot be read: names the file (when known), the JSON path and the problem.</summary>
public sealed class SpecFormatException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// JSON for IR records: camelCase names, enums as strings, a "kind" discriminator on every
/// polymorphic node, unknown fields and duplicate keys rejected (a typo must not be silently ignored),
/// and the experiment's name, model, task and training required.
/// </summary>
public static class SpecJson
{
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    private static JsonSerializerOptions CreateOptions()
    {
        var o = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            WriteIndented = true,
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
            // Nulls are written: a null that means "off" (clipGradNorm) must not read back as the default.
            DefaultIgnoreCondition = JsonIgnoreCondition.Never,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
            AllowTrailingCommas = true,
            ReadCommentHandling = JsonCommentHandling.Skip,
            // A key given twice is a mistake (which one was meant?), not "the last one wins".
            AllowDuplicateProperties = false,
            TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { AddVariants, MigrateFormatVersion } },
        };
        o.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false));
        o.MakeReadOnly(populateMissingResolver: true);
        return o;
    }

    /// <summary>Every registered IR family is polymorphic with a "kind" discriminator naming its variants
    /// (see <see cref="VariantRegistry"/>); a kind that is not registered is an error on read and on write.</summary>
    private static void AddVariants(JsonTypeInfo info)
    {
        if (!VariantRegistry.IsFamily(info.Type)) return;
        var polymorphism = new JsonPolymorphismOptions
        {
            TypeDiscriminatorPropertyName = "kind",
            UnknownDerivedTypeHandling = JsonUnknownDerivedTypeHandling.FailSerialization,
        };
        foreach (var variant in VariantRegistry.Of(info.Type)) polymorphism.DerivedTypes.Add(new JsonDerivedType(variant.Type, variant.Kind));
        info.PolymorphismOptions = polymorphism;
    }

    /// <summary>An experiment's "formatVersion" is migrated to the current version as it is read, or refused
    /// (<see cref="SpecFormat.Migrate"/>); nested experiments (a sweep's arms) go through the same setter.</summary>
    private static void MigrateFormatVersion(JsonTypeInfo info)
    {
        if (info.Type != typeof(ExperimentSpec)) return;
        var property = info.Properties.Single(p => p.Name == "formatVersion");
        var set = property.Set ?? throw new InvalidOperationException("ExperimentSpec.FormatVersion has no setter");
        property.Set = (spec, value) => set(spec, SpecFormat.Migrate((int)value!));
    }

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    /// <param name="source">Where the text came from, for error messages (a file path).</param>
    public static T Deserialize<T>(string json, string source = "<json>")
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, Options)
                   ?? throw new SpecFormatException($"{source}: the document is empty (null)");
        }
        catch (JsonException e)
        {
            var path = (e.Path ?? "$") + (e.Data["ModelDsl.InnerPath"] as string ?? "");
            var where = path.Length > 1 ? $" at {path}" : "";
            var line = e.LineNumber is { } l ? $" (line {l + 1})" : "";
            throw new SpecFormatException($"{source}{where}{line}: {Explain(e)}", e);
        }
        catch (NotSupportedException e)
        {
            throw new SpecFormatException($"{source}: {e.Message}", e);
        }
    }

    public static ExperimentSpec LoadExperiment(string path)
    {
        if (!File.Exists(path)) throw new SpecFormatException($"{path}: no such spec file");
        return Deserialize<ExperimentSpec>(File.ReadAllText(path), path);
    }

    private static string Explain(JsonException e)
    {
        var m = e.Message;
        // System.Text.Json messages end with a redundant "Path: ... | LineNumber: ..." suffix.
        var cut = m.IndexOf(" Path: ", StringComparison.Ordinal);
        var text = cut > 0 ? m[..cut] : m;
        foreach (var (old, now) in RenamedFields)
            if (text.Contains($"property '{old}' could not be mapped", StringComparison.Ordinal))
                return $"{text} ('{old}' was renamed '{now}'; rename the key to load a spec written before the change)";
        return text;
    }

    /// <summary>Fields renamed since specs were first written, so that an old spec's error says what to do.</summary>
    private static readonly (string Old, string Now)[] RenamedFields = [("mixer", "attention")];
}
