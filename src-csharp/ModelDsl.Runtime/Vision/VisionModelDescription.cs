using ModelDsl.Core.Model;
using ModelDsl.Core.Vision;
using ModelDsl.Runtime.Parameters;

namespace ModelDsl.Runtime.Vision;

/// <summary>A vision-language model as a table: the encoder's patch embedding, blocks and final norm, the projector, then the decoder's rows.</summary>
public static class VisionModelDescription
{
    public static IReadOnlyList<LayerRow> Describe(VisionLanguageModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var v = model.Spec.Vision;
        var frozen = v.FreezeEncoder ? ", frozen" : "";
        var rows = new List<LayerRow>
        {
            new("encoder.patches", $"patch embedding ({v.PatchSize}x{v.PatchSize} patches, learned positions{frozen})",
                $"{v.PatchDimension} -> {v.Width} x {v.Patches} patches", Count(model.Encoder.named_children().First(c => c.name == "patches").module)),
        };
        var blocks = model.Encoder.Blocks;
        var feedForward = v.FeedForward;
        for (var i = 0; i < blocks.Count; i++)
            rows.Add(new LayerRow($"encoder.blocks.{i}",
                $"bidirectional block ({v.Heads} heads, {feedForward.Activation.ToString().ToLowerInvariant()} feed-forward {feedForward.EffectiveHidden(v.Width)}{frozen})",
                $"{v.Width} -> {v.Width}", Count(blocks[i])));
        rows.Add(new LayerRow("encoder.finalNorm", $"RMSNorm{frozen}", $"{v.Width}", Count(model.Encoder.named_children().First(c => c.name == "finalNorm").module)));
        rows.Add(new LayerRow("projector",
            $"{(v.Projector == ProjectorKind.Mlp ? "MLP" : "linear")} projector, {v.EffectivePrefixTokens} prefix tokens{(v.FreezeProjector ? ", frozen" : "")}",
            $"{v.Width} -> {model.Spec.Decoder.Width}", Count(model.Projector)));
        rows.AddRange(model.Decoder.Describe().Select(r => r with { Name = "decoder." + r.Name }));
        return rows;
    }

    private static long Count(TorchSharp.torch.nn.Module module) => module.parameters().Sum(p => p.numel());
}
