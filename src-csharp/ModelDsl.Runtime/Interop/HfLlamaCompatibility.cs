using ModelDsl.Core.Model;

namespace ModelDsl.Runtime.Interop;

/// <summary>
/// Which models Hugging Face's LlamaForCausalLM can express: identical pre-norm blocks of grouped-query
/// attention with rotate-half RoPE (one theta), optional q/k/v/o biases (attention_bias), a SwiGLU
/// feed-forward with optional biases (mlp_bias), RMSNorm with one epsilon for every norm (gain w, not
/// 1 + w), no embedding scaling, tied or untied head. Everything else is named as the feature it is.
/// </summary>
public static class HfLlamaCompatibility
{
    /// <summary>Every feature of <paramref name="model"/> that HF Llama cannot express, as "path: reason"; empty when exportable.</summary>
    public static IReadOnlyList<string> Problems(ModelSpec model)
    {
        var problems = new List<string>();
        if (model.Blocks.Count == 0) return ["model.blocks: a model without blocks has no Llama form"];
        for (var i = 0; i < model.Blocks.Count; i++)
            BlockProblems(model.Blocks[i], $"model.blocks[{i}]", problems);
        if (model.FinalNorm is not Core.Model.RmsNorm)
            problems.Add($"model.finalNorm: {model.FinalNorm.GetType().Name} is not RMSNorm (Llama's only norm)");
        if (problems.Count > 0) return problems;

        // Llama's layers are identical and share one config: every block must equal block 0 in what the config records.
        var first = Shape(model.Blocks[0], model.Width);
        for (var i = 1; i < model.Blocks.Count; i++)
        {
            var shape = Shape(model.Blocks[i], model.Width);
            foreach (var (field, a, b) in first.Fields.Zip(shape.Fields, (x, y) => (x.Name, x.Value, y.Value)))
                if (!Equals(a, b))
                    problems.Add($"model.blocks[{i}].{field}: {b} differs from block 0's {a} (Hugging Face Llama's layers are identical)");
        }
        var finalEps = ((Core.Model.RmsNorm)model.FinalNorm).Eps;
        if (finalEps != first.NormEps)
            problems.Add($"model.finalNorm.eps: {finalEps} differs from the blocks' {first.NormEps} (rms_norm_eps is one value for every norm)");
        return problems;
    }

    /// <summary>Throws <see cref="HfLlamaException"/> listing every problem, if any.</summary>
    public static void EnsureExportable(ModelSpec model)
    {
        var problems = Problems(model);
        if (problems.Count > 0)
            throw new HfLlamaException("the model cannot be exported as Hugging Face Llama:" + Environment.NewLine +
                                       string.Join(Environment.NewLine, problems.Select(p => "  " + p)));
    }

    private static void BlockProblems(BlockSpec block, string path, List<string> problems)
    {
        var attention = block.Attention;
        switch (attention.Position)
        {
            case Rope: break;
            case NoPosition:
                problems.Add($"{path}.attention.position: NoPE (no position encoding) cannot be expressed (Llama always applies RoPE)"); break;
            case PathPosition:
                problems.Add($"{path}.attention.position: PaTH position encoding cannot be expressed (Llama's attention has RoPE only)"); break;
            default:
                problems.Add($"{path}.attention.position: {attention.Position.GetType().Name} cannot be expressed (Llama's attention has RoPE only)"); break;
        }
        if (attention.QkNorm)
            problems.Add($"{path}.attention.qkNorm: QK-norm cannot be expressed (Llama has no query/key normalisation)");
        if (attention.Gate is not null)
            problems.Add($"{path}.attention.gate: an attention gate ({attention.Gate.Position}) cannot be expressed (Llama's attention has no gate)");
        switch (block.FeedForward)
        {
            case DenseFeedForward { Activation: Activation.SwiGlu }: break;
            case DenseFeedForward dense:
                problems.Add($"{path}.feedForward.activation: a {dense.Activation} feed-forward cannot be expressed (Llama's MLP is SwiGLU, hidden_act silu)"); break;
            case MoeFeedForward:
                problems.Add($"{path}.feedForward: a mixture of experts cannot be expressed (Llama's MLP is dense)"); break;
            default:
                problems.Add($"{path}.feedForward: {block.FeedForward.GetType().Name} cannot be expressed (Llama's MLP is a dense SwiGLU)"); break;
        }
        if (block.Norm is not Core.Model.RmsNorm)
            problems.Add($"{path}.norm: {block.Norm.GetType().Name} is not RMSNorm (Llama's only norm)");
    }

    /// <summary>What the HF config records of one block, named by the block-relative IR path.</summary>
    internal sealed record BlockShape(int Heads, int KvHeads, int HeadDim, double Theta, bool AttentionBias, int Hidden, bool MlpBias, double NormEps)
    {
        public IEnumerable<(string Name, object Value)> Fields =>
        [
            ("attention.heads", Heads), ("attention.kvHeads", KvHeads), ("attention.headDim", HeadDim),
            ("attention.position.theta", Theta), ("attention.bias", AttentionBias),
            ("feedForward.hidden", Hidden), ("feedForward.bias", MlpBias), ("norm.eps", NormEps),
        ];
    }

    /// <summary>The config values of an exportable block (call after <see cref="Problems"/> found none).</summary>
    internal static BlockShape Shape(BlockSpec block, int width)
    {
        var attention = block.Attention;
        var dense = (DenseFeedForward)block.FeedForward;
        return new BlockShape(attention.Heads, attention.EffectiveKvHeads, attention.EffectiveHeadDim(width),
            ((Rope)attention.Position).Theta, attention.Bias, dense.EffectiveHidden(width), dense.Bias, ((Core.Model.RmsNorm)block.Norm).Eps);
    }
}
