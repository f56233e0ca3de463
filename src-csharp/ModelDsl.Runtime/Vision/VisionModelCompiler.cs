using ModelDsl.Core.Validation;
using ModelDsl.Core.Vision;
using ModelDsl.Runtime.Compile;
using TorchSharp;
using static TorchSharp.torch;
using ModelDsl.Runtime.Parameters;

namespace ModelDsl.Runtime.Vision;

/// <summary>Turns a <see cref="VisionLanguageSpec"/> into a <see cref="VisionLanguageModel"/>.</summary>
public static class VisionModelCompiler
{
    /// <summary>
    /// Validates the spec (throwing <see cref="SpecValidationException"/> with every error before any
    /// tensor is allocated), builds the decoder with <see cref="ModelCompiler.Build"/> from
    /// <paramref name="seed"/>, and the encoder and projector initialised from a second stream of the
    /// same seed: matrices and patch positions ~ N(0, initStd) (residual outputs of the encoder blocks
    /// scaled by 1/sqrt(2 depth), GPT-2 §2.3), norm gains 1, biases 0. Frozen parts stop requiring gradients.
    /// </summary>
    public static VisionLanguageModel Build(VisionLanguageSpec spec, ScalarType dtype = ScalarType.Float32, Device? device = null, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var errors = spec.Validate();
        if (errors.Count > 0) throw new SpecValidationException(errors);
        device ??= torch.CPU;
        var decoder = ModelCompiler.Build(spec.Decoder, dtype, device, seed);
        var encoder = new ImageEncoder(spec.Vision, dtype, device);
        var projector = new VisionProjector(spec.Vision, spec.Decoder.Width, dtype, device);
        Initialize(encoder, projector, spec.Vision, seed);
        if (spec.Vision.FreezeEncoder) foreach (var p in encoder.parameters()) p.requires_grad = false;
        if (spec.Vision.FreezeProjector) foreach (var p in projector.parameters()) p.requires_grad = false;
        return new VisionLanguageModel(spec, encoder, projector, decoder);
    }

    private static void Initialize(ImageEncoder encoder, VisionProjector projector, VisionSpec spec, long seed)
    {
        // A stream distinct from the decoder's (which uses the seed itself).
        using var generator = new torch.Generator(unchecked((ulong)Tasks.SeededRandom.Hash(seed, 0x5649534E)), torch.CPU);
        var residualScale = spec.Depth > 0 ? 1.0 / Math.Sqrt(2.0 * spec.Depth) : 1.0;
        using var noGrad = torch.no_grad();
        // Residual outputs of the encoder's blocks are scaled with its depth (GPT-2 §2.3); the projector's are not.
        foreach (var (p, inEncoder) in ParameterCatalog.Of(encoder).Select(p => (p, true)).Concat(ParameterCatalog.Of(projector).Select(p => (p, false))))
        {
            switch (p.Role)
            {
                case ParameterRole.Norm: p.Parameter.fill_(1.0); break;
                case ParameterRole.Bias: p.Parameter.zero_(); break;
                default:
                    var std = p.ResidualOutput && inEncoder ? spec.InitStd * residualScale : spec.InitStd;
                    using (var values = torch.empty(p.Parameter.shape, ScalarType.Float64, torch.CPU).normal_(0, std, generator))
                        p.Parameter.copy_(values);
                    break;
            }
        }
    }
}
