using System.Text;
using System.Text.Json;
using ModelDsl.Core.Model;
using ModelDsl.Core.Validation;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Interop;

/// <summary>
/// The config.json of a Hugging Face LlamaForCausalLM, as far as it determines the network. Keys
/// missing from a config take LlamaConfig's defaults where those are part of the format's meaning
/// (num_key_value_heads = heads, head_dim = hidden_size / heads, rms_norm_eps 1e-6, rope_theta 10000,
/// max_position_embeddings 2048, untied head, no biases); the sizes themselves are required. A key
/// this reader does not understand, or a value it cannot honour, is an error naming the key:
/// ignoring it could silently change the network.
/// </summary>
public sealed record HfLlamaConfig
{
    public int HiddenSize { get; init; }
    public int IntermediateSize { get; init; }
    public int NumAttentionHeads { get; init; }
    public int NumKeyValueHeads { get; init; }
    public int NumHiddenLayers { get; init; }
    public int HeadDim { get; init; }
    public double RmsNormEps { get; init; } = 1e-6;
    public double RopeTheta { get; init; } = 10000;
    public int VocabSize { get; init; }
    public int MaxPositionEmbeddings { get; init; } = 2048;
    public bool TieWordEmbeddings { get; init; }
    public bool AttentionBias { get; init; }
    public bool MlpBias { get; init; }
    /// <summary>torch_dtype: "float32", "float64", "bfloat16" or "float16".</summary>
    public string TorchDtype { get; init; } = "float32";

    /// <summary>Keys with no effect on the network's function (token ids, bookkeeping, training-time initialisation).</summary>
    private static readonly HashSet<string> Inert = new(StringComparer.Ordinal)
    {
        "bos_token_id", "eos_token_id", "pad_token_id", "transformers_version", "initializer_range", "use_cache",
        "_name_or_path", "output_attentions", "output_hidden_states", "return_dict", "tokenizer_class",
    };

    private static readonly HashSet<string> Understood = new(StringComparer.Ordinal)
    {
        "architectures", "model_type", "hidden_size", "intermediate_size", "num_attention_heads", "num_key_value_heads",
        "num_hidden_layers", "head_dim", "rms_norm_eps", "rope_theta", "rope_scaling", "rope_parameters", "vocab_size",
        "max_position_embeddings", "tie_word_embeddings", "torch_dtype", "dtype", "hidden_act", "attention_bias", "mlp_bias",
        "attention_dropout", "pretraining_tp",
    };

    /// <summary>The config of an exportable model (see <see cref="HfLlamaCompatibility"/>) whose weights are <paramref name="dtype"/>.</summary>
    public static HfLlamaConfig FromModel(ModelSpec model, ScalarType dtype)
    {
        HfLlamaCompatibility.EnsureExportable(model);
        var block = HfLlamaCompatibility.Shape(model.Blocks[0], model.Width);
        return new HfLlamaConfig
        {
            HiddenSize = model.Width,
            IntermediateSize = block.Hidden,
            NumAttentionHeads = block.Heads,
            NumKeyValueHeads = block.KvHeads,
            NumHiddenLayers = model.Blocks.Count,
            HeadDim = block.HeadDim,
            RmsNormEps = block.NormEps,
            RopeTheta = block.Theta,
            VocabSize = model.Vocab,
            MaxPositionEmbeddings = model.MaxSequenceLength,
            TieWordEmbeddings = model.TiedHead,
            AttentionBias = block.AttentionBias,
            MlpBias = block.MlpBias,
            TorchDtype = DtypeName(dtype),
        };
    }

    /// <summary>
    /// The IR model: identical blocks, with the fields a Llama spec written in the DSL leaves to their
    /// defaults left null (kvHeads equal to heads, headDim equal to width / heads, the feed-forward's
    /// hidden size equal to its default), so that the spec compares equal to ModelSpec.Llama's.
    /// </summary>
    public ModelSpec ToModelSpec()
    {
        var attention = new AttentionSpec
        {
            Heads = NumAttentionHeads,
            KvHeads = NumKeyValueHeads == NumAttentionHeads ? null : NumKeyValueHeads,
            HeadDim = HiddenSize % NumAttentionHeads == 0 && HeadDim == HiddenSize / NumAttentionHeads ? null : HeadDim,
            Position = new Rope { Theta = RopeTheta },
            Bias = AttentionBias,
        };
        var feedForward = new DenseFeedForward
        {
            Hidden = IntermediateSize == DenseFeedForward.DefaultHidden(HiddenSize, Activation.SwiGlu) ? null : IntermediateSize,
            Activation = Activation.SwiGlu,
            Bias = MlpBias,
        };
        return new ModelSpec
        {
            Vocab = VocabSize,
            Width = HiddenSize,
            Blocks = Core.ValueList.Repeat(new BlockSpec { Attention = attention, FeedForward = feedForward, Norm = new Core.Model.RmsNorm { Eps = RmsNormEps } }, NumHiddenLayers),
            FinalNorm = new Core.Model.RmsNorm { Eps = RmsNormEps },
            TiedHead = TieWordEmbeddings,
            MaxSequenceLength = MaxPositionEmbeddings,
        };
    }

    /// <summary>The element type the runtime loads these weights as: float64 for float64 checkpoints,
    /// float32 otherwise (bfloat16 and float16 widen to float32 exactly).</summary>
    public ScalarType RuntimeDtype => TorchDtype == "float64" ? ScalarType.Float64 : ScalarType.Float32;

    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteStartArray("architectures");
            json.WriteStringValue("LlamaForCausalLM");
            json.WriteEndArray();
            json.WriteString("model_type", "llama");
            json.WriteNumber("hidden_size", HiddenSize);
            json.WriteNumber("intermediate_size", IntermediateSize);
            json.WriteNumber("num_attention_heads", NumAttentionHeads);
            json.WriteNumber("num_key_value_heads", NumKeyValueHeads);
            json.WriteNumber("num_hidden_layers", NumHiddenLayers);
            json.WriteNumber("head_dim", HeadDim);
            json.WriteNumber("rms_norm_eps", RmsNormEps);
            json.WriteNumber("rope_theta", RopeTheta);
            json.WriteNull("rope_scaling");
            json.WriteNumber("vocab_size", VocabSize);
            json.WriteNumber("max_position_embeddings", MaxPositionEmbeddings);
            json.WriteBoolean("tie_word_embeddings", TieWordEmbeddings);
            json.WriteString("torch_dtype", TorchDtype);
            json.WriteString("hidden_act", "silu");
            json.WriteBoolean("attention_bias", AttentionBias);
            json.WriteBoolean("mlp_bias", MlpBias);
            json.WriteNumber("attention_dropout", 0.0);
            json.WriteNumber("pretraining_tp", 1);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    /// <summary>Reads and checks <paramref name="path"/> (a config.json).</summary>
    public static HfLlamaConfig Read(string path)
    {
        if (!File.Exists(path)) throw new HfLlamaException($"'{path}': no such file (a Hugging Face model directory holds config.json)");
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            return Parse(document.RootElement, path);
        }
        catch (JsonException e)
        {
            throw new HfLlamaException($"'{path}': not valid JSON ({e.Message})", e);
        }
    }

    /// <summary>Checks a parsed config; errors name <paramref name="file"/> and the key.</summary>
    public static HfLlamaConfig Parse(JsonElement root, string file)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new HfLlamaException($"'{file}': the config must be a JSON object");
        HfLlamaException Bad(string key, string problem) => new($"'{file}': {key}: {problem}");

        foreach (var property in root.EnumerateObject())
            if (!Understood.Contains(property.Name) && !Inert.Contains(property.Name))
                throw Bad(property.Name, "is not a Llama config key this reader understands; refusing rather than ignoring it");

        var modelType = root.TryGetProperty("model_type", out var mt) && mt.ValueKind == JsonValueKind.String ? mt.GetString() : null;
        if (modelType != "llama")
            throw Bad("model_type", modelType is null ? "is missing (must be \"llama\")" : $"\"{modelType}\" is not supported (only \"llama\")");
        if (root.TryGetProperty("architectures", out var architectures) && architectures.ValueKind != JsonValueKind.Null)
        {
            var names = architectures.ValueKind == JsonValueKind.Array ? architectures.EnumerateArray().Select(a => a.ToString()).ToList() : [];
            if (names.Count != 1 || names[0] != "LlamaForCausalLM")
                throw Bad("architectures", $"{architectures.GetRawText()} is not supported (only [\"LlamaForCausalLM\"])");
        }
        var act = OptionalString(root, "hidden_act", "silu", Bad);
        if (act != "silu") throw Bad("hidden_act", $"\"{act}\" is not supported (Llama's SwiGLU uses \"silu\")");
        var dropout = OptionalNumber(root, "attention_dropout", 0, Bad);
        if (dropout != 0) throw Bad("attention_dropout", $"{dropout} is not supported (the runtime has no attention dropout)");
        var tp = OptionalInt(root, "pretraining_tp", 1, Bad);
        if (tp != 1) throw Bad("pretraining_tp", $"{tp} is not supported (only 1: unsliced projections)");

        var ropeTheta = OptionalNumber(root, "rope_theta", 10000, Bad);
        CheckRopeScaling(root, "rope_scaling", Bad, ref ropeTheta);
        CheckRopeScaling(root, "rope_parameters", Bad, ref ropeTheta);

        var dtype = OptionalString(root, "torch_dtype", null, Bad) ?? OptionalString(root, "dtype", "float32", Bad)!;
        if (dtype is not ("float32" or "float64" or "bfloat16" or "float16"))
            throw Bad(root.TryGetProperty("torch_dtype", out _) ? "torch_dtype" : "dtype", $"\"{dtype}\" is not supported (float32, float64, bfloat16, float16)");

        var hidden = RequiredInt(root, "hidden_size", Bad);
        var heads = RequiredInt(root, "num_attention_heads", Bad);
        var kvHeads = OptionalInt(root, "num_key_value_heads", heads, Bad);
        if (heads % kvHeads != 0)
            throw Bad("num_key_value_heads", $"{kvHeads} does not divide num_attention_heads {heads}");
        int? defaultHeadDim = hidden % heads == 0 ? hidden / heads : null;
        var headDim = root.TryGetProperty("head_dim", out var hd) && hd.ValueKind != JsonValueKind.Null
            ? RequiredInt(root, "head_dim", Bad)
            : defaultHeadDim ?? throw Bad("num_attention_heads", $"{heads} does not divide hidden_size {hidden} and head_dim is not given");
        var eps = OptionalNumber(root, "rms_norm_eps", 1e-6, Bad);
        if (!(eps > 0)) throw Bad("rms_norm_eps", $"{eps} must be positive");
        if (!(ropeTheta > 1)) throw Bad("rope_theta", $"{ropeTheta} must be greater than 1");

        var config = new HfLlamaConfig
        {
            HiddenSize = hidden,
            IntermediateSize = RequiredInt(root, "intermediate_size", Bad),
            NumAttentionHeads = heads,
            NumKeyValueHeads = kvHeads,
            NumHiddenLayers = RequiredInt(root, "num_hidden_layers", Bad),
            HeadDim = headDim,
            RmsNormEps = eps,
            RopeTheta = ropeTheta,
            VocabSize = RequiredInt(root, "vocab_size", Bad),
            MaxPositionEmbeddings = OptionalInt(root, "max_position_embeddings", 2048, Bad),
            TieWordEmbeddings = OptionalBool(root, "tie_word_embeddings", false, Bad),
            AttentionBias = OptionalBool(root, "attention_bias", false, Bad),
            MlpBias = OptionalBool(root, "mlp_bias", false, Bad),
            TorchDtype = dtype,
        };
        var errors = config.ToModelSpec().Validate();
        if (errors.Count > 0)
            throw new HfLlamaException($"'{file}' describes a model the runtime refuses: {string.Join("; ", errors.Select(e => $"{e.Path}: {e.Message}"))}");
        return config;
    }

    /// <summary>rope_scaling (or transformers 5's rope_parameters) may be absent, null or the default
    /// rope type; any scaling (linear, dynamic, yarn, llama3, ...) changes the angles and is refused.</summary>
    private static void CheckRopeScaling(JsonElement root, string key, Func<string, string, HfLlamaException> bad, ref double theta)
    {
        if (!root.TryGetProperty(key, out var value) || value.ValueKind == JsonValueKind.Null) return;
        if (value.ValueKind != JsonValueKind.Object) throw bad(key, $"{value.GetRawText()} must be an object or null");
        string? type = null;
        foreach (var field in value.EnumerateObject())
            switch (field.Name)
            {
                case "rope_type" or "type": type = field.Value.ToString(); break;
                case "rope_theta" when field.Value.ValueKind == JsonValueKind.Number: theta = field.Value.GetDouble(); break;
                default: throw bad($"{key}.{field.Name}", "is not supported (only the default rope type, without scaling)");
            }
        if (type is not (null or "default"))
            throw bad(key, $"rope type \"{type}\" is not supported (only \"default\": RoPE without scaling)");
    }

    private static int RequiredInt(JsonElement root, string key, Func<string, string, HfLlamaException> bad)
    {
        if (!root.TryGetProperty(key, out var value) || value.ValueKind == JsonValueKind.Null) throw bad(key, "is missing");
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var n) || n < 1)
            throw bad(key, $"{value.GetRawText()} must be a positive integer");
        return n;
    }

    private static int OptionalInt(JsonElement root, string key, int fallback, Func<string, string, HfLlamaException> bad) =>
        root.TryGetProperty(key, out var value) && value.ValueKind != JsonValueKind.Null ? RequiredInt(root, key, bad) : fallback;

    private static double OptionalNumber(JsonElement root, string key, double fallback, Func<string, string, HfLlamaException> bad)
    {
        if (!root.TryGetProperty(key, out var value) || value.ValueKind == JsonValueKind.Null) return fallback;
        if (value.ValueKind != JsonValueKind.Number || !double.IsFinite(value.GetDouble())) throw bad(key, $"{value.GetRawText()} must be a finite number");
        return value.GetDouble();
    }

    private static bool OptionalBool(JsonElement root, string key, bool fallback, Func<string, string, HfLlamaException> bad)
    {
        if (!root.TryGetProperty(key, out var value) || value.ValueKind == JsonValueKind.Null) return fallback;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw bad(key, $"{value.GetRawText()} must be true or false"),
        };
    }

    private static string? OptionalString(JsonElement root, string key, string? fallback, Func<string, string, HfLlamaException> bad)
    {
        if (!root.TryGetProperty(key, out var value) || value.ValueKind == JsonValueKind.Null) return fallback;
        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw bad(key, $"{value.GetRawText()} must be a string");
    }

    private static string DtypeName(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.Float64 => "float64",
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float16 => "float16",
        _ => throw new HfLlamaException($"weights of type {dtype} have no torch_dtype here"),
    };
}
