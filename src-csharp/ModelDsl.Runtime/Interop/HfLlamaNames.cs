using ModelDsl.Core.Model;

namespace ModelDsl.Runtime.Interop;

/// <summary>
/// How the runtime's parameters correspond to Hugging Face Llama's. Our fused projections are
/// HF's separate ones stacked by rows: qkv = [q_proj; k_proj; v_proj] (query heads, then key heads,
/// then value heads, each head's rows contiguous, as HF's view(.., heads, head_dim) reads them) and
/// gateUp = [gate_proj; up_proj]. No rows are permuted: both use RoPE's rotate-half pairing
/// (i, i + d/2) with the angle position * theta^(-2i/d), and both share KV head j among the query
/// heads j * g .. j * g + g - 1 (g = heads / kvHeads).
/// </summary>
public static class HfLlamaNames
{
    /// <summary>One of our tensors and the HF tensors whose rows (dimension 0), stacked in order, make it.</summary>
    public sealed record Correspondence(string Ours, IReadOnlyList<(string Name, long Rows)> Hf);

    public static IReadOnlyList<Correspondence> Of(HfLlamaConfig config)
    {
        var list = new List<Correspondence> { new("embedding.weight", [("model.embed_tokens.weight", config.VocabSize)]) };
        var (q, kv, hidden) = ((long)config.NumAttentionHeads * config.HeadDim, (long)config.NumKeyValueHeads * config.HeadDim, (long)config.IntermediateSize);
        for (var i = 0; i < config.NumHiddenLayers; i++)
        {
            var (ours, hf) = ($"blocks.{i}", $"model.layers.{i}");
            list.Add(new($"{ours}.attentionNorm.weight", [($"{hf}.input_layernorm.weight", config.HiddenSize)]));
            list.Add(new($"{ours}.feedForwardNorm.weight", [($"{hf}.post_attention_layernorm.weight", config.HiddenSize)]));
            foreach (var kind in config.AttentionBias ? new[] { "weight", "bias" } : ["weight"])
            {
                list.Add(new($"{ours}.attention.qkv.{kind}",
                    [($"{hf}.self_attn.q_proj.{kind}", q), ($"{hf}.self_attn.k_proj.{kind}", kv), ($"{hf}.self_attn.v_proj.{kind}", kv)]));
                list.Add(new($"{ours}.attention.output.{kind}", [($"{hf}.self_attn.o_proj.{kind}", config.HiddenSize)]));
            }
            foreach (var kind in config.MlpBias ? new[] { "weight", "bias" } : ["weight"])
            {
                list.Add(new($"{ours}.feedForward.gateUp.{kind}", [($"{hf}.mlp.gate_proj.{kind}", hidden), ($"{hf}.mlp.up_proj.{kind}", hidden)]));
                list.Add(new($"{ours}.feedForward.down.{kind}", [($"{hf}.mlp.down_proj.{kind}", config.HiddenSize)]));
            }
        }
        list.Add(new("finalNorm.weight", [("model.norm.weight", config.HiddenSize)]));
        if (!config.TieWordEmbeddings) list.Add(new("head.weight", [("lm_head.weight", config.VocabSize)]));
        return list;
    }

    /// <summary>HF tensors that some checkpoints carry and that are not weights: RoPE's inverse
    /// frequencies, recomputed from rope_theta (ours are recomputed as well).</summary>
    public static bool IsRecomputedBuffer(string hfName) => hfName.EndsWith(".self_attn.rotary_emb.inv_freq", StringComparison.Ordinal);
}
