using ModelDsl.Runtime.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Interop;

/// <summary>Moves weights between a compiled <see cref="LanguageModel"/> and Hugging Face Llama's tensors (see <see cref="HfLlamaNames"/>).</summary>
public static class HfLlamaWeights
{
    /// <summary>The model's weights under HF names, fused projections split, in the model's dtype.</summary>
    public static IReadOnlyList<SafetensorsTensor> Export(LanguageModel model, HfLlamaConfig config)
    {
        var state = model.state_dict();
        var correspondences = HfLlamaNames.Of(config);
        CheckCovers(state, correspondences);
        var tensors = new List<SafetensorsTensor>();
        using var scope = NewDisposeScope();
        foreach (var c in correspondences)
        {
            var ours = state[c.Ours];
            long row = 0;
            foreach (var (name, rows) in c.Hf)
            {
                tensors.Add(TensorBytes.From(name, ours.narrow(0, row, rows)));
                row += rows;
            }
            if (row != ours.shape[0])
                throw new InvalidOperationException($"'{c.Ours}' has {ours.shape[0]} rows, its HF parts {row}");
        }
        return tensors;
    }

    /// <summary>
    /// Overwrites every weight of <paramref name="model"/> with the HF tensors, converted to the model's
    /// dtype. Every weight must be present with its shape, and every HF tensor must be used (a tied
    /// checkpoint may repeat the embedding as lm_head.weight); errors name <paramref name="source"/>.
    /// </summary>
    public static void Import(IReadOnlyDictionary<string, SafetensorsTensor> hf, HfLlamaConfig config, LanguageModel model, string source)
    {
        var state = model.state_dict();
        var correspondences = HfLlamaNames.Of(config);
        CheckCovers(state, correspondences);
        var missing = correspondences.SelectMany(c => c.Hf.Select(p => p.Name)).Where(n => !hf.ContainsKey(n)).ToList();
        if (missing.Count > 0)
            throw new HfLlamaException($"{source}: missing tensors: {string.Join(", ", missing.Take(8))}{(missing.Count > 8 ? $" and {missing.Count - 8} more" : "")}");
        var used = correspondences.SelectMany(c => c.Hf.Select(p => p.Name)).ToHashSet(StringComparer.Ordinal);
        var unused = hf.Keys.Where(n => !used.Contains(n) && !HfLlamaNames.IsRecomputedBuffer(n)).Order(StringComparer.Ordinal).ToList();
        if (config.TieWordEmbeddings && unused.Remove("lm_head.weight")) CheckTiedHead(hf, source);
        if (unused.Count > 0)
            throw new HfLlamaException($"{source}: tensors that a Llama of this config does not have: {string.Join(", ", unused.Take(8))}{(unused.Count > 8 ? $" and {unused.Count - 8} more" : "")}");

        using var noGrad = no_grad();
        foreach (var c in correspondences)
        {
            using var scope = NewDisposeScope();
            var target = state[c.Ours];
            var parts = new List<Tensor>();
            foreach (var (name, rows) in c.Hf)
            {
                var tensor = hf[name];
                var expected = new[] { rows }.Concat(target.shape.Skip(1)).ToArray();
                if (!tensor.Shape.SequenceEqual(expected))
                    throw new HfLlamaException($"{source}: tensor '{name}' has shape [{string.Join(", ", tensor.Shape)}], the config implies [{string.Join(", ", expected)}]");
                if (tensor.Dtype is not (SafetensorsDtype.F32 or SafetensorsDtype.F64 or SafetensorsDtype.BF16 or SafetensorsDtype.F16))
                    throw new HfLlamaException($"{source}: tensor '{name}' is {tensor.Dtype.Name()}, not a floating-point weight");
                parts.Add(TensorBytes.ToTensor(tensor).to(target.dtype));
            }
            target.copy_(parts.Count == 1 ? parts[0] : cat(parts, 0));
        }
    }

    private static void CheckTiedHead(IReadOnlyDictionary<string, SafetensorsTensor> hf, string source)
    {
        var (head, embedding) = (hf["lm_head.weight"], hf["model.embed_tokens.weight"]);
        if (head.Dtype != embedding.Dtype || !head.Shape.SequenceEqual(embedding.Shape) || !head.Data.AsSpan().SequenceEqual(embedding.Data))
            throw new HfLlamaException($"{source}: tie_word_embeddings is true but lm_head.weight differs from model.embed_tokens.weight");
    }

    /// <summary>The correspondences must name exactly the model's tensors: anything else would be silently
    /// dropped or left at its initial value. A tensor listed under a second name (a submodule also held in a
    /// property's backing field) is the same tensor, not another weight.</summary>
    private static void CheckCovers(IDictionary<string, Tensor> state, IReadOnlyList<HfLlamaNames.Correspondence> correspondences)
    {
        var mapped = correspondences.Select(c => c.Ours).ToHashSet(StringComparer.Ordinal);
        var covered = new HashSet<Tensor>(mapped.Where(state.ContainsKey).Select(n => state[n]), ReferenceEqualityComparer.Instance);
        var extra = state.Where(p => !mapped.Contains(p.Key) && !covered.Contains(p.Value)).Select(p => p.Key).Order(StringComparer.Ordinal).ToList();
        var absent = mapped.Where(n => !state.ContainsKey(n)).Order(StringComparer.Ordinal).ToList();
        if (extra.Count > 0 || absent.Count > 0)
            throw new HfLlamaException("the model's tensors do not correspond to Hugging Face Llama's" +
                                       (extra.Count > 0 ? $"; without an HF counterpart: {string.Join(", ", extra)}" : "") +
                                       (absent.Count > 0 ? $"; expected but absent: {string.Join(", ", absent)}" : ""));
    }
}
