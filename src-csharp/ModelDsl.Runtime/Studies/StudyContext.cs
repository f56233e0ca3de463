namespace ModelDsl.Runtime.Studies;

/// <summary>
/// What a multi-run study script is given: where run directories and its report go, whether to run
/// the quick (test-sized) variant, and an optional thread count for every run.
/// </summary>
public sealed record StudyContext(string RunsRoot, bool Quick, int? Threads = null)
{
    /// <summary>Reads <c>--quick</c>, <c>--runs-dir DIR</c> and <c>--threads N</c> from script arguments
    /// (e.g. fsi.CommandLineArgs); anything else is an error naming the argument.</summary>
    public static StudyContext FromArguments(IEnumerable<string> arguments)
    {
        var context = new StudyContext("runs", false);
        using var items = arguments.GetEnumerator();
        string Next(string flag) =>
            items.MoveNext() ? items.Current : throw new ArgumentException($"{flag} needs a value");
        while (items.MoveNext())
        {
            var argument = items.Current;
            context = argument switch
            {
                "--quick" => context with { Quick = true },
                "--runs-dir" => context with { RunsRoot = Next(argument) },
                "--threads" => context with
                {
                    Threads = int.TryParse(Next(argument), out var n) && n >= 1 ? n : throw new ArgumentException("--threads needs a positive integer"),
                },
                _ when argument.EndsWith(".fsx", StringComparison.OrdinalIgnoreCase) => context, // fsi passes the script itself
                _ => throw new ArgumentException($"unknown study argument '{argument}' (expected --quick, --runs-dir DIR, --threads N)"),
            };
        }
        return context;
    }

    /// <summary>A new folder RunsRoot/name-yyyyMMdd-HHmmss[-n] for the study's runs and report.</summary>
    public string CreateFolder(string name)
    {
        var stem = Path.Combine(RunsRoot, $"{name}{(Quick ? "-quick" : "")}-{DateTime.Now:yyyyMMdd-HHmmss}");
        var path = stem;
        for (var i = 2; Directory.Exists(path); i++) path = $"{stem}-{i}";
        Directory.CreateDirectory(path);
        return Path.GetFullPath(path);
    }
}
