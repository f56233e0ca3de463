using System.Runtime.InteropServices;

namespace ModelDsl.Runtime.Native;

/// <summary>
/// Runs on the libtorch of an existing PyTorch install instead of the bundled one: loads the
/// libraries of <c>torch/lib</c> (CUDA ones included when present) by full path, then TorchSharp's
/// native shim, before TorchSharp's first use. This is the route where the CUDA TorchSharp packages
/// cannot be installed but a CUDA PyTorch is. The shim is built against one libtorch version;
/// <c>bench/gpu/run.sh</c> checks which of its symbols another version lacks.
/// </summary>
public static class LibTorchPreload
{
    /// <summary>The environment variable naming a <c>torch/lib</c> directory.</summary>
    public const string Variable = "MODELDSL_LIBTORCH";

    // Dependencies first: each library's own dependencies are then already in the process.
    private static readonly string[] Order = ["libc10.so", "libc10_cuda.so", "libtorch_cpu.so", "libtorch_cuda.so", "libtorch.so"];
    private static readonly string[] Required = ["libc10.so", "libtorch_cpu.so", "libtorch.so"];

    /// <summary>Preloads from <see cref="Variable"/> when it is set; returns the libraries loaded (none when unset).</summary>
    public static IReadOnlyList<string> FromEnvironment() =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } directory ? From(directory) : [];

    /// <summary>Loads the libtorch libraries in <paramref name="directory"/>, then libLibTorchSharp.so from
    /// beside TorchSharp.dll. Throws <see cref="DllNotFoundException"/> naming the library and the loader's reason.</summary>
    public static IReadOnlyList<string> From(string directory)
    {
        if (!Directory.Exists(directory))
            throw new DllNotFoundException($"{Variable}: '{directory}' is not a directory (it should be PyTorch's torch/lib)");
        foreach (var name in Required)
            if (!File.Exists(Path.Combine(directory, name)))
                throw new DllNotFoundException($"{Variable}: '{directory}' has no {name}, so it is not a libtorch directory (PyTorch's torch/lib)");
        var loaded = new List<string>();
        foreach (var name in Order)
        {
            var path = Path.Combine(directory, name);
            if (!File.Exists(path)) continue;
            Load(path);
            loaded.Add(path);
        }
        var shim = FindShim();
        Load(shim);
        loaded.Add(shim);
        return loaded;
    }

    private static void Load(string path)
    {
        try
        {
            NativeLibrary.Load(path);
        }
        catch (DllNotFoundException e)
        {
            throw new DllNotFoundException($"{Variable}: could not load '{path}': {e.Message}", e);
        }
    }

    /// <summary>libLibTorchSharp.so: beside the application (a published build) or in TorchSharp's package layout.</summary>
    private static string FindShim()
    {
        var candidates = new[] { AppContext.BaseDirectory, Path.GetDirectoryName(typeof(TorchSharp.torch).Assembly.Location) ?? "" }
            .SelectMany(d => new[] { Path.Combine(d, "libLibTorchSharp.so"), Path.Combine(d, "runtimes", "linux-x64", "native", "libLibTorchSharp.so") });
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new DllNotFoundException($"{Variable}: libLibTorchSharp.so (TorchSharp's native shim) is not beside the application ({AppContext.BaseDirectory})");
    }
}
