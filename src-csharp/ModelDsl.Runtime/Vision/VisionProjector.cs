using ModelDsl.Core.Vision;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Vision;

/// <summary>
/// Patch features [B, N, encoder width] -> K prefix embeddings [B, K, decoder width]: the N
/// features are averaged in K groups of N/K consecutive patches (no pooling when K = N), then
/// mapped by a linear layer or a linear-GELU-linear MLP.
/// </summary>
public sealed class VisionProjector : nn.Module<Tensor, Tensor>
{
    private readonly Linear first;
    private readonly Linear? second;

    public VisionProjector(VisionSpec spec, int decoderWidth, ScalarType dtype = ScalarType.Float32, Device? device = null)
        : base(nameof(VisionProjector))
    {
        Kind = spec.Projector;
        Patches = spec.Patches;
        PrefixTokens = spec.EffectivePrefixTokens;
        if (PrefixTokens < 1 || Patches % PrefixTokens != 0)
            throw new ArgumentException($"{PrefixTokens} prefix tokens do not divide {Patches} patches");
        if (Kind == ProjectorKind.Linear)
            first = nn.Linear(spec.Width, decoderWidth, hasBias: true, device: device, dtype: dtype);
        else
        {
            var hidden = spec.ProjectorHidden ?? decoderWidth;
            first = nn.Linear(spec.Width, hidden, hasBias: true, device: device, dtype: dtype);
            second = nn.Linear(hidden, decoderWidth, hasBias: true, device: device, dtype: dtype);
        }
        register_module("first", first);
        if (second is not null) register_module("second", second);
    }

    public ProjectorKind Kind { get; }
    public int Patches { get; }
    public int PrefixTokens { get; }

    public override Tensor forward(Tensor features)
    {
        using var scope = NewDisposeScope();
        var (batch, width) = (features.shape[0], features.shape[2]);
        var pooled = PrefixTokens == Patches ? features : features.view(batch, PrefixTokens, Patches / PrefixTokens, width).mean([2L]);
        var h = first.forward(pooled);
        if (second is not null) h = second.forward(nn.functional.gelu(h));
        return h.MoveToOuterDisposeScope();
    }
}
