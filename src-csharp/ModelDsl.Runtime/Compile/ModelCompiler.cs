using ModelDsl.Core.Model;
using ModelDsl.Core.Validation;
using TorchSharp;
using static TorchSharp.torch;
using ModelDsl.Runtime.Model;

namespace ModelDsl.Runtime.Compile;

/// <summary>Turns a <see cref="ModelSpec"/> into a <see cref="LanguageModel"/>, one builder per IR node.</summary>
public static class ModelCompiler
{
    /// <summary>
    /// Validates the spec (throwing <see cref="SpecValidationException"/> with every error before any
    /// tensor is allocated), then builds the model on <paramref name="device"/> (CPU by default) in
    /// <paramref name="dtype"/> and initialises it deterministically from <paramref name="seed"/>.
    /// </summary>
    public static LanguageModel Build(ModelSpec spec, ScalarType dtype = ScalarType.Float32, Device? device = null, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var errors = spec.Validate();
        if (errors.Count > 0) throw new SpecValidationException(errors);
        if (dtype is not (ScalarType.Float32 or ScalarType.Float64 or ScalarType.BFloat16 or ScalarType.Float16))
            throw new ArgumentException($"a model's dtype must be a floating-point type (Float32, Float64, BFloat16, Float16), not {dtype}", nameof(dtype));
        device ??= torch.CPU;

        var context = new BuildContext(spec, dtype, device);
        var embedding = nn.Embedding(spec.Vocab, spec.Width, device: device, dtype: dtype);
        var blocks = spec.Blocks.Select((block, i) => BlockBuilder.Build(block, context, $"model.blocks[{i}]")).ToList();
        var finalNorm = NormBuilder.Build(spec.FinalNorm, spec.Width, context, "model.finalNorm");
        var head = spec.TiedHead ? null : nn.Linear(spec.Width, spec.Vocab, hasBias: false, device: device, dtype: dtype);

        var model = new LanguageModel(spec, embedding, blocks, finalNorm, head);
        ParameterInitializer.Initialize(model, spec.Init, seed);
        return model;
    }
}
