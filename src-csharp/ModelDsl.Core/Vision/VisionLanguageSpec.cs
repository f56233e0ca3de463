using ModelDsl.Core.Model;
using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Vision;

/// <summary>
/// A vision-language model: a <see cref="VisionSpec"/> encoder whose K prefix embeddings precede
/// the token embeddings of a decoder-only <see cref="ModelSpec"/>. Without an image the decoder
/// reads the tokens alone (no prefix), exactly as the text-only model would.
/// </summary>
public sealed record VisionLanguageSpec
{
    public VisionSpec Vision { get; init; } = new();
    public ModelSpec Decoder { get; init; } = new();

    public void Validate(Validator v, string path)
    {
        if (Vision is null) v.Fail($"{path}.vision", "is missing");
        else Vision.Validate(v, $"{path}.vision");
        if (Decoder is null) v.Fail($"{path}.decoder", "is missing");
        else Decoder.Validate(v, $"{path}.decoder");
        if (Vision is not null && Decoder is not null && Vision.PatchSize >= 1 && Vision.ImageSize % Vision.PatchSize == 0)
            v.Require(Vision.EffectivePrefixTokens < Decoder.MaxSequenceLength, $"{path}.decoder.maxSequenceLength",
                $"{Decoder.MaxSequenceLength} leaves no room for tokens after the {Vision.EffectivePrefixTokens} image prefix embeddings");
    }

    public IReadOnlyList<ValidationError> Validate()
    {
        var v = new Validator();
        Validate(v, "visionLanguage");
        return v.Errors;
    }
}
