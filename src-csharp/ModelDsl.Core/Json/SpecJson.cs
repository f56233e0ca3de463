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
            // e.g. a polymorphic node without its "kind": the message carries the path after "Path: ".
            var at = e.Message.IndexOf(" Path: ", StringComparison.Ordinal);
            var path = at > 0 ? e.Message[(at + 7)..].Split(' ', '|')[0].TrimEnd('.') : "";
            var where = path.Length > 1 ? $" at {path}" : "";
            var text = KindMissing(Readable(at > 0 ? e.Message[..at] : e.Message));
            throw new SpecFormatException($"{source}{where}: {text}", e);
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
        var raw = cut > 0 ? m[..cut] : m;
        var text = KindMissing(Readable(raw));
        foreach (var (old, now) in RenamedFields)
            if (raw.Contains($"property '{old}' could not be mapped", StringComparison.Ordinal))
                return $"{text} ('{old}' was renamed '{now}'; rename the key to load a spec written before the change)";
        return text;
    }

    /// <summary>
    /// The serializer's messages in the spec's terms: .NET type names become what the JSON should hold
    /// ("System.Int32" becomes "an integer"), record types their short names, and the common errors are
    /// reworded (unknown field, missing required fields, unknown kind).
    /// </summary>
    internal static string Readable(string message)
    {
        var text = message;
        text = System.Text.RegularExpressions.Regex.Replace(text,
            @"The JSON property '([^']*)' could not be mapped to any \.NET member contained in type '([^']*)'\.",
            m => $"unknown field '{m.Groups[1].Value}' (not a field of {ShortType(m.Groups[2].Value)}; field names are camelCase)");
        text = System.Text.RegularExpressions.Regex.Replace(text,
            @"JSON deserialization for type '([^']*)' was missing required properties including: (.*)\.$",
            m => $"{ShortType(m.Groups[1].Value)} is missing required field(s) {m.Groups[2].Value}");
        text = System.Text.RegularExpressions.Regex.Replace(text,
            @"Read unrecognized type discriminator id '([^']*)'\.?",
            m => $"'{m.Groups[1].Value}' is not a known kind here");
        text = System.Text.RegularExpressions.Regex.Replace(text, @"The JSON value could not be converted to ([^\s]+?)\.?$",
            m => $"the value is not {Expected(m.Groups[1].Value)}");
        text = System.Text.RegularExpressions.Regex.Replace(text, @"Duplicate property '([^']*)' encountered during deserialization of type '([^']*)'\.?",
            m => $"the key '{m.Groups[1].Value}' is given twice (in a {ShortType(m.Groups[2].Value)}); keep one");
        // Whatever type names remain.
        text = System.Text.RegularExpressions.Regex.Replace(text, @"'?(System|ModelDsl)\.[\w.`\[\], ]+'?", m => ShortType(m.Value.Trim('\'')));
        return text;
    }

    /// <summary>A polymorphic node read without its "kind" reaches the serializer as an abstract type.</summary>
    private static string KindMissing(string text) =>
        text.Contains("abstract types is not supported", StringComparison.Ordinal) || text.Contains("must specify a type discriminator", StringComparison.Ordinal)
            ? "the \"kind\" field (first in the object) that says which variant this is is missing or not first"
            : text;

    private static string Expected(string typeName)
    {
        var nullable = typeName.StartsWith("System.Nullable`1[", StringComparison.Ordinal);
        var inner = nullable ? typeName["System.Nullable`1[".Length..].TrimEnd(']') : typeName;
        var what = inner switch
        {
            "System.Int32" => "an integer (32-bit)",
            "System.Int64" => "an integer",
            "System.Double" or "System.Single" => "a number",
            "System.Boolean" => "true or false",
            "System.String" => "a string",
            _ when inner.StartsWith("ModelDsl.Core.ValueList`1[", StringComparison.Ordinal) => "a list",
            _ => $"a {ShortType(inner)}",
        };
        return nullable ? what + " or null" : what;
    }

    private static string ShortType(string typeName)
    {
        var generic = typeName.IndexOf('`');
        if (generic > 0)
        {
            var argument = typeName.IndexOf('[', generic);
            var inner = argument > 0 ? ShortType(typeName[(argument + 1)..].TrimEnd(']')) : "";
            return ShortType(typeName[..generic]) + (inner.Length > 0 ? $" of {inner}" : "");
        }
        var dot = typeName.LastIndexOf('.');
        var name = dot >= 0 ? typeName[(dot + 1)..] : typeName;
        return name switch { "Int32" or "Int64" => "integer", "Double" or "Single" => "number", "Boolean" => "boolean", "String" => "string", _ => name };
    }

    /// <summary>Fields renamed since specs were first written, so that an old spec's error says what to do.</summary>
    private static readonly (string Old, string Now)[] RenamedFields = [("mixer", "attention")];
}
