using System.Globalization;
using System.Text.RegularExpressions;
using ModelDsl.Core;
using ModelDsl.Core.FineTune;
using ModelDsl.Core.Tasks;
using ModelDsl.Core.Validation;
using ModelDsl.Runtime.FineTune;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Runs;

/// <summary>What <see cref="Preflight.Check"/> checks beyond the spec's own rules.</summary>
public sealed record PreflightOptions
{
    /// <summary>Skip the comparison of the memory estimate with the machine's available memory.</summary>
    public bool IgnoreMemory { get; init; }
    /// <summary>Bytes available for training; null reads the machine's (MemAvailable, or the GC's limit).</summary>
    public long? AvailableBytes { get; init; }
}

/// <summary>
/// The checks of a valid spec against this machine, before a run directory is made: the device exists,
/// every file the spec names exists (text corpus, init sources' run directories and checkpoints, with
/// the architecture they hold), and the estimated memory (<see cref="MemoryEstimate"/>) fits what is
/// available. Every problem is a path-qualified <see cref="ValidationError"/>.
/// </summary>
public static partial class Preflight
{
    public static IReadOnlyList<ValidationError> Check(ExperimentSpec spec, PreflightOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        options ??= new PreflightOptions();
        var v = new Validator();
        var onCpu = CheckDevice(spec.Training.Device, v);
        CheckFiles(spec.Task, "task", v);
        if (spec.Init is { } init) CheckInit(spec, init, v);
        if (!options.IgnoreMemory && onCpu) CheckMemory(spec, options.AvailableBytes ?? AvailableMemoryBytes(), v);
        return v.Errors;
    }

    /// <summary>True when the run will use the CPU (so host memory bounds it).</summary>
    private static bool CheckDevice(string device, Validator v)
    {
        if (device == "cpu") return true;
        var available = cuda.is_available();
        if (device == "auto") return !available;
        if (!CudaIndex().IsMatch(device))
        {
            v.Fail("training.device", $"'{device}' is not a device (use cpu, cuda, cuda:N or auto)");
            return false;
        }
        if (!available)
        {
            v.Fail("training.device", $"'{device}' was requested but CUDA is not available on this machine (use cpu or auto)");
            return false;
        }
        if (CudaIndex().Match(device) is { Success: true } m && m.Groups[1].Success
            && int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) >= cuda.device_count())
            v.Fail("training.device", $"'{device}': this machine has {cuda.device_count()} CUDA device(s), numbered from 0");
        return false;
    }

    [GeneratedRegex(@"^cuda(?::(\d+))?$")]
    private static partial Regex CudaIndex();

    private static void CheckFiles(TaskSpec task, string path, Validator v)
    {
        switch (task)
        {
            case TextCorpus corpus when !File.Exists(corpus.Path):
                v.Fail($"{path}.path", Directory.Exists(corpus.Path)
                    ? $"'{corpus.Path}' is a directory; a text corpus is one file"
                    : $"corpus file '{Path.GetFullPath(corpus.Path)}' does not exist");
                break;
            case TaskMixture mixture:
                for (var i = 0; i < mixture.Components.Count; i++)
                    if (mixture.Components[i]?.Task is { } component) CheckFiles(component, $"{path}.components[{i}].task", v);
                break;
        }
    }

    /// <summary>Every run directory and checkpoint the init source names (through interpolations and
    /// perturbations) must exist, hold a verified checkpoint and the experiment's architecture.</summary>
    private static void CheckInit(ExperimentSpec spec, ModelSource init, Validator v)
    {
        foreach (var (leaf, path) in Leaves(init, "init"))
        {
            try
            {
                var stored = ModelLoader.ArchitectureOf(leaf, path);
                if (ArchitectureCheck.FirstDifference(stored, spec.Model) is { } difference)
                    v.Fail(path, $"holds a different architecture than the experiment's model: {difference}");
            }
            catch (Exception e) when (e is ModelSourceException or CheckpointException or IOException or UnauthorizedAccessException
                                          or Core.Json.SpecFormatException or InvalidDataException)
            {
                var (at, message) = SplitPath(e.Message, path);
                v.Fail(at, message);
            }
        }
    }

    private static IEnumerable<(ModelSource Source, string Path)> Leaves(ModelSource source, string path) => source switch
    {
        InterpolatedSource interpolation => [.. Leaves(interpolation.A, $"{path}.a"), .. Leaves(interpolation.B, $"{path}.b")],
        PerturbedSource perturbed => Leaves(perturbed.Source, $"{path}.source"),
        _ => [(source, path)],
    };

    /// <summary>"init.a.path: run directory ... does not exist" -> ("init.a.path", "run directory ... does not exist").</summary>
    private static (string Path, string Message) SplitPath(string message, string fallback)
    {
        var m = LeadingPath().Match(message);
        return m.Success ? (m.Groups[1].Value, message[m.Length..]) : (fallback, message);
    }

    [GeneratedRegex(@"^((?:init|task)[A-Za-z0-9_.\[\]]*): ")]
    private static partial Regex LeadingPath();

    private static void CheckMemory(ExperimentSpec spec, long available, Validator v)
    {
        var estimate = MemoryEstimate.For(spec);
        if (estimate.TotalBytes <= available) return;
        v.Fail("model", $"training needs {estimate.Describe()}, more than the {MemoryEstimate.Gib(available)} of memory available on this machine; " +
                        "make the model or training.microBatch smaller, or skip this check with --ignore-memory-check");
    }

    /// <summary>MemAvailable from /proc/meminfo on Linux (free plus reclaimable), else the GC's view of the machine or container.</summary>
    public static long AvailableMemoryBytes()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
                if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                {
                    var kib = long.Parse(line["MemAvailable:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                    return kib * 1024;
                }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
        return GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
    }
}
