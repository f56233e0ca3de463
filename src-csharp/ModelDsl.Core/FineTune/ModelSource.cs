using ModelDsl.Core.Variants;
using System.Text.Json.Serialization;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core.FineTune;

/// <summary>
/// Where a model's weights come from when an experiment starts from a trained model (fine-tuning,
/// WiSE-FT interpolation, perturbation sensitivity, RL). Only weights are taken, never optimizer
/// state; the architecture must match the spec the weights are loaded into.
/// </summary>
public abstract record ModelSource
{
    public abstract void Validate(Validator v, string path);

    /// <summary>Throws <see cref="SpecValidationException"/> listing every error (paths under <paramref name="path"/>), or returns this source.</summary>
    public ModelSource EnsureValid(string path = "source")
    {
        var v = new Validator();
        Validate(v, path);
        v.ThrowIfAny();
        return this;
    }

    /// <summary>Validates a possibly missing child source at <paramref name="path"/>.</summary>
    internal static void ValidateChild(ModelSource? source, Validator v, string path)
    {
        if (source is null) v.Fail(path, "is missing");
        else source.Validate(v, path);
    }
}

/// <summary>A run directory: the weights of its newest checkpoint whose checksum verifies.</summary>
[Kind("fromRun")]
public sealed record RunSource : ModelSource
{
    public string Path { get; init; } = "";

    public override void Validate(Validator v, string path) =>
        v.Require(!string.IsNullOrWhiteSpace(Path), $"{path}.path", "a run directory is required");
}

/// <summary>One checkpoint file.</summary>
[Kind("fromCheckpoint")]
public sealed record CheckpointSource : ModelSource
{
    public string Path { get; init; } = "";

    public override void Validate(Validator v, string path) =>
        v.Require(!string.IsNullOrWhiteSpace(Path), $"{path}.path", "a checkpoint file is required");
}

/// <summary>
/// WiSE-FT weight interpolation (PAPERS.md §5): theta = (1 - Alpha) theta_A + Alpha theta_B, tensor
/// by tensor, for two sources of the same architecture. Alpha 0 gives A and 1 gives B bit-exactly.
/// </summary>
[Kind("interpolation")]
public sealed record InterpolatedSource : ModelSource
{
    public ModelSource A { get; init; } = new RunSource();
    public ModelSource B { get; init; } = new RunSource();
    public double Alpha { get; init; } = 0.5;

    public override void Validate(Validator v, string path)
    {
        ValidateChild(A, v, $"{path}.a");
        ValidateChild(B, v, $"{path}.b");
        v.Fraction(Alpha, $"{path}.alpha");
    }
}

/// <summary>
/// A Gaussian perturbation theta + Gamma * eps of a source (PAPERS.md §6), eps drawn per tensor
/// with the tensor's initialisation standard deviation and a generator seeded with NoiseSeed.
/// </summary>
[Kind("perturbed")]
public sealed record PerturbedSource : ModelSource
{
    public ModelSource Source { get; init; } = new RunSource();
    public double Gamma { get; init; } = 0.01;
    public long NoiseSeed { get; init; }

    public override void Validate(Validator v, string path)
    {
        ValidateChild(Source, v, $"{path}.source");
        v.NonNegative(Gamma, $"{path}.gamma");
    }
}

/// <summary>
/// A Hugging Face LlamaForCausalLM directory: config.json (read into the IR model; a setting the
/// runtime cannot honour is an error naming its key) and model.safetensors, or shards listed in
/// model.safetensors.index.json. Pickled weights (pytorch_model.bin) are never loaded.
/// </summary>
[Kind("huggingFace")]
public sealed record HuggingFaceSource : ModelSource
{
    public string Path { get; init; } = "";

    public override void Validate(Validator v, string path) =>
        v.Require(!string.IsNullOrWhiteSpace(Path), $"{path}.path", "a Hugging Face model directory is required");
}
