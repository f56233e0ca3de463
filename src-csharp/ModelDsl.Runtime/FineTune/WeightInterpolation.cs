using ModelDsl.Core.FineTune;
using ModelDsl.Core.Json;
using ModelDsl.Runtime.Runs;
using TorchSharp;
using static ModelDsl.Runtime.Layers.HeldScalars;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.FineTune;

/// <summary>
/// WiSE-FT weight interpolation (PAPERS.md §5): theta = (1 - alpha) theta_a + alpha theta_b, tensor by
/// tensor. The mix is computed in float64 and rounded once to the tensor's type, so at alpha = 0.5
/// every element is the correctly rounded mean. The endpoints are special-cased: alpha = 0 keeps a
/// and alpha = 1 copies b bit for bit (the float formula would turn -0 into +0 and, for
/// a + alpha (b - a), is not exact at alpha = 1). Tensors equal in both models (fixed buffers such
/// as position tables) are kept as they are.
/// </summary>
public static class WeightInterpolation
{
    /// <summary>Overwrites <paramref name="target"/> (theta_a) with the mix; both modules must hold the same tensors.</summary>
    public static void Mix(nn.Module target, nn.Module other, double alpha)
    {
        if (!double.IsFinite(alpha) || alpha < 0 || alpha > 1)
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must lie in [0, 1]");
        var a = target.state_dict();
        var b = other.state_dict();
        var missing = a.Keys.Except(b.Keys).Concat(b.Keys.Except(a.Keys)).ToList();
        if (missing.Count > 0)
            throw new ArgumentException($"the two models hold different tensors (only in one of them: {string.Join(", ", missing)})");
        foreach (var (name, tensorA) in a)
        {
            var tensorB = b[name];
            if (!tensorA.shape.SequenceEqual(tensorB.shape) || tensorA.dtype != tensorB.dtype || tensorA.device.ToString() != tensorB.device.ToString())
                throw new ArgumentException($"tensor '{name}' is {tensorA.dtype} [{string.Join(", ", tensorA.shape)}] on {tensorA.device} in one model and " +
                                            $"{tensorB.dtype} [{string.Join(", ", tensorB.shape)}] on {tensorB.device} in the other");
        }
        using var noGrad = no_grad();
        // A module's state dictionary may list one tensor under several names (a submodule held in
        // two fields); each tensor is mixed once.
        var mixed = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        // The weights as Scalars held over the loop (see HeldScalars).
        using var weightA = (1 - alpha).ToScalar();
        using var weightB = alpha.ToScalar();
        foreach (var (name, tensorA) in a)
        {
            if (!mixed.Add(tensorA)) continue;
            using var scope = NewDisposeScope();
            var tensorB = b[name];
            if (alpha == 0) continue;
            if (alpha == 1) { tensorA.copy_(tensorB); continue; }
            if (tensorA.eq(tensorB).all().item<bool>()) continue;
            if (!tensorA.is_floating_point())
                throw new ArgumentException($"tensor '{name}' ({tensorA.dtype}) differs between the models and cannot be interpolated");
            // copy: true, so that a float64 model's own tensors are never handed to the dispose scope.
            var mix = tensorA.to(ScalarType.Float64, copy: true).mul(weightA).add(tensorB.to(ScalarType.Float64, copy: true).mul(weightB), One);
            tensorA.copy_(mix);
        }
    }

    /// <summary>
    /// Interpolates two sources of the same architecture and writes the result as a run directory
    /// <paramref name="outDirectory"/>: spec.json (a's stored spec), source.json (the interpolation, for
    /// provenance) and checkpoints/step-00000000.ckpt (weights only). The written checkpoint is read
    /// back and verified. Returns its path; load it with a <see cref="RunSource"/> on the directory.
    /// </summary>
    public static string Write(ModelSource a, ModelSource b, double alpha, string outDirectory)
    {
        var source = (InterpolatedSource)new InterpolatedSource { A = a, B = b, Alpha = alpha }.EnsureValid();
        var specJson = ModelLoader.StoredSpecJson(FirstStored(a), "source.a");
        var checkpoints = Path.Combine(outDirectory, "checkpoints");
        if (new CheckpointStore(checkpoints, keep: 1).List().Count > 0)
            throw new IOException($"'{outDirectory}' already holds checkpoints; write an interpolation into a new directory");
        using var model = ModelLoader.Load(source, ModelLoader.ArchitectureOf(a, "source.a"), StoredDtype(specJson));
        Directory.CreateDirectory(checkpoints);
        AtomicFile.WriteAllText(Path.Combine(outDirectory, "spec.json"), specJson);
        AtomicFile.WriteAllText(Path.Combine(outDirectory, "source.json"), SpecJson.Serialize<ModelSource>(source));
        var path = new CheckpointStore(checkpoints, keep: 1).Save(new CheckpointHeader(0, specJson, [], 0), model, optimizer: null);
        Checkpoint.ReadHeader(path);
        return path;
    }

    /// <summary>Paths from the command line: a directory is a run, a file a checkpoint.</summary>
    public static string Write(string a, string b, double alpha, string outDirectory) =>
        Write(SourceOf(a), SourceOf(b), alpha, outDirectory);

    /// <summary>A run directory when <paramref name="path"/> is a directory, else a checkpoint file.</summary>
    public static ModelSource SourceOf(string path) =>
        Directory.Exists(path) ? new RunSource { Path = path } : new CheckpointSource { Path = path };

    /// <summary>The run or checkpoint whose spec an interpolation's output records: the leftmost leaf.</summary>
    private static ModelSource FirstStored(ModelSource source) => source switch
    {
        InterpolatedSource s => FirstStored(s.A),
        PerturbedSource s => FirstStored(s.Source),
        _ => source,
    };

    /// <summary>The element type the stored experiment trained in (its training.precision), float32 when not stated.</summary>
    internal static ScalarType StoredDtype(string specJson)
    {
        using var document = System.Text.Json.JsonDocument.Parse(specJson);
        return document.RootElement.TryGetProperty("training", out var training) &&
               training.TryGetProperty("precision", out var precision) && precision.GetString() == "float64"
            ? ScalarType.Float64
            : ScalarType.Float32;
    }
}
