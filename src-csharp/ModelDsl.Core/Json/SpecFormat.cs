using System.Text.Json;

namespace ModelDsl.Core.Json;

/// <summary>
/// The version of the experiment-spec JSON format, written as "formatVersion" on every experiment.
/// Version 1 is every spec written before the field existed (a spec without it is read as version 1);
/// version 2 added the field and changed nothing else. A spec of a known older version is migrated to
/// the current one as it is read; a newer or unknown version is refused with a message naming it.
/// </summary>
public static class SpecFormat
{
    /// <summary>The version this code writes.</summary>
    public const int Current = 2;

    /// <summary>The version of specs written before "formatVersion" existed.</summary>
    public const int Unversioned = 1;

    /// <summary>The current version for a spec that declares <paramref name="version"/>, after migrating
    /// it (1 to 2: nothing to rewrite); a JSON error naming the version when it cannot be read.</summary>
    public static int Migrate(int version) => version switch
    {
        Current => Current,
        >= Unversioned and < Current => Current,
        > Current => throw new JsonException(
            $"formatVersion {version} is newer than this version of ModelDsl reads (formats {Unversioned} to {Current}); update ModelDsl to load this spec"),
        _ => throw new JsonException($"formatVersion {version} is not a spec format version (the first is {Unversioned})"),
    };
}
