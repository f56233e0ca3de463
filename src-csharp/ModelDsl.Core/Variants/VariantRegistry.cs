using System.Collections.Concurrent;
using System.Reflection;

namespace ModelDsl.Core.Variants;

/// <summary>One registered variant: its JSON kind and its record type.</summary>
public sealed record Variant(string Kind, Type Type);

/// <summary>
/// The variants of every polymorphic IR family, found from their <see cref="KindAttribute"/>s:
/// the non-abstract types in the family's assembly that derive from it and carry the attribute.
/// A family is an abstract IR record that at least one such type derives from.
/// </summary>
public static class VariantRegistry
{
    private static readonly ConcurrentDictionary<Type, IReadOnlyList<Variant>> Cache = new();

    /// <summary>The variants of <paramref name="family"/> in declaration order of their kinds (ordinal);
    /// empty when the type is not a family.</summary>
    public static IReadOnlyList<Variant> Of(Type family) => Cache.GetOrAdd(family, Discover);

    public static IReadOnlyList<Variant> Of<TFamily>() => Of(typeof(TFamily));

    public static bool IsFamily(Type type) => type.IsAbstract && Of(type).Count > 0;

    /// <summary>Every family declared in the IR assembly.</summary>
    public static IReadOnlyList<Type> Families() =>
        typeof(VariantRegistry).Assembly.GetTypes().Where(t => t.IsAbstract && !t.IsInterface && IsFamily(t))
            .OrderBy(t => t.FullName, StringComparer.Ordinal).ToList();

    /// <summary>The kind of a variant value, e.g. "muon".</summary>
    public static string KindOf(object spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return spec.GetType().GetCustomAttribute<KindAttribute>()?.Name
               ?? throw new ArgumentException($"{spec.GetType().Name} is not a registered IR variant (it has no [Kind] attribute)");
    }

    private static IReadOnlyList<Variant> Discover(Type family)
    {
        if (!family.IsAbstract) return [];
        var variants = family.Assembly.GetTypes()
            .Where(t => !t.IsAbstract && family.IsAssignableFrom(t))
            .Select(t => (Type: t, Kind: t.GetCustomAttribute<KindAttribute>()))
            .Where(p => p.Kind is not null)
            .Select(p => new Variant(p.Kind!.Name, p.Type))
            .OrderBy(v => v.Kind, StringComparer.Ordinal)
            .ToList();
        var duplicate = variants.GroupBy(v => v.Kind).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new InvalidOperationException($"kind '{duplicate.Key}' is registered twice under {family.Name}: {string.Join(", ", duplicate.Select(v => v.Type.Name))}");
        return variants;
    }
}
