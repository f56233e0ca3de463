using System.Text.Json;
using ModelDsl.Core.FineTune;
using ModelDsl.Core.Model;
using ModelDsl.Runtime.FineTune;
using ModelDsl.Runtime.Interop;
using static TorchSharp.torch;
using static ModelDsl.Runtime.Tests.Interop.HfLlamaFixtures;

namespace ModelDsl.Runtime.Tests.Interop;

/// <summary>Export to a Hugging Face Llama directory and import back: same logits bit for bit, HF's names and shapes, config values.</summary>
public sealed class HfLlamaRoundTripTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("hf-llama-").FullName;
    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Theory]
    [InlineData("tied", ScalarType.Float32)]
    [InlineData("untied", ScalarType.Float32)]
    [InlineData("untied", ScalarType.Float64)]
    public void ExportThenImportGivesBitIdenticalLogits(string name, ScalarType dtype)
    {
        var spec = Named(name);
        using var model = Random(spec, dtype);
        var hf = Path.Combine(directory, "hf");
        HfLlamaExport.Write(model, hf);

        var source = new HuggingFaceSource { Path = hf };
        Assert.Null(ArchitectureCheck.FirstDifference(ModelLoader.ArchitectureOf(source), spec));
        using var back = ModelLoader.Load(source, dtype);
        using var tokens = Tokens(spec.Vocab);
        using var expected = model.forward(tokens);
        using var actual = back.forward(tokens);
        Assert.Equal(dtype, actual.dtype);
        Assert.True(HfLlamaFixtures.SameBits(expected, actual), "logits differ after export and import");
    }

    [Fact]
    public void TheExportHasHuggingFaceNamesShapesAndConfig()
    {
        using var model = Random(Untied());
        var hf = Path.Combine(directory, "hf");
        HfLlamaExport.Write(model, hf);
        var file = SafetensorsReader.Read(Path.Combine(hf, "model.safetensors"));
        Assert.Equal("pt", file.MetadataValue("format"));
        var expected = new Dictionary<string, long[]>
        {
            ["model.embed_tokens.weight"] = [13, 16], ["model.norm.weight"] = [16], ["lm_head.weight"] = [13, 16],
        };
        for (var i = 0; i < 2; i++)
        {
            var p = $"model.layers.{i}";
            expected[$"{p}.input_layernorm.weight"] = [16];
            expected[$"{p}.post_attention_layernorm.weight"] = [16];
            expected[$"{p}.self_attn.q_proj.weight"] = [24, 16];
            expected[$"{p}.self_attn.k_proj.weight"] = [12, 16];
            expected[$"{p}.self_attn.v_proj.weight"] = [12, 16];
            expected[$"{p}.self_attn.o_proj.weight"] = [16, 24];
            expected[$"{p}.self_attn.q_proj.bias"] = [24];
            expected[$"{p}.self_attn.k_proj.bias"] = [12];
            expected[$"{p}.self_attn.v_proj.bias"] = [12];
            expected[$"{p}.self_attn.o_proj.bias"] = [16];
            expected[$"{p}.mlp.gate_proj.weight"] = [24, 16];
            expected[$"{p}.mlp.up_proj.weight"] = [24, 16];
            expected[$"{p}.mlp.down_proj.weight"] = [16, 24];
            expected[$"{p}.mlp.gate_proj.bias"] = [24];
            expected[$"{p}.mlp.up_proj.bias"] = [24];
            expected[$"{p}.mlp.down_proj.bias"] = [16];
        }
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), file.Names.Order(StringComparer.Ordinal));
        foreach (var tensor in file.Tensors)
        {
            Assert.Equal(expected[tensor.Name], tensor.Shape);
            Assert.Equal(SafetensorsDtype.F32, tensor.Dtype);
        }

        // The key projection is the fused projection's rows after the query heads, the up projection the second half of gateUp.
        var state = model.state_dict();
        using var k = TensorBytes.ToTensor(file["model.layers.1.self_attn.k_proj.weight"]);
        Assert.True(HfLlamaFixtures.SameBits(k, state["blocks.1.attention.qkv.weight"].narrow(0, 24, 12)));
        using var up = TensorBytes.ToTensor(file["model.layers.0.mlp.up_proj.weight"]);
        Assert.True(HfLlamaFixtures.SameBits(up, state["blocks.0.feedForward.gateUp.weight"].narrow(0, 24, 24)));

        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(hf, "config.json")));
        var root = config.RootElement;
        Assert.Equal("LlamaForCausalLM", root.GetProperty("architectures")[0].GetString());
        Assert.Equal("llama", root.GetProperty("model_type").GetString());
        Assert.Equal("silu", root.GetProperty("hidden_act").GetString());
        Assert.Equal(16, root.GetProperty("hidden_size").GetInt32());
        Assert.Equal(24, root.GetProperty("intermediate_size").GetInt32());
        Assert.Equal(4, root.GetProperty("num_attention_heads").GetInt32());
        Assert.Equal(2, root.GetProperty("num_key_value_heads").GetInt32());
        Assert.Equal(6, root.GetProperty("head_dim").GetInt32());
        Assert.Equal(2, root.GetProperty("num_hidden_layers").GetInt32());
        Assert.Equal(1e-5, root.GetProperty("rms_norm_eps").GetDouble());
        Assert.Equal(500, root.GetProperty("rope_theta").GetDouble());
        Assert.Equal(13, root.GetProperty("vocab_size").GetInt32());
        Assert.Equal(32, root.GetProperty("max_position_embeddings").GetInt32());
        Assert.False(root.GetProperty("tie_word_embeddings").GetBoolean());
        Assert.True(root.GetProperty("attention_bias").GetBoolean());
        Assert.True(root.GetProperty("mlp_bias").GetBoolean());
        Assert.Equal("float32", root.GetProperty("torch_dtype").GetString());
    }

    [Fact]
    public void ATiedExportHasNoHeadAndATiedCheckpointMayRepeatTheEmbedding()
    {
        using var model = Random(Tied());
        var hf = Path.Combine(directory, "hf");
        HfLlamaExport.Write(model, hf);
        var file = SafetensorsReader.Read(Path.Combine(hf, "model.safetensors"));
        Assert.False(file.Contains("lm_head.weight"));

        // Some tied checkpoints store lm_head.weight anyway: accepted when equal to the embedding, refused otherwise.
        var embedding = file["model.embed_tokens.weight"];
        var withHead = file.Tensors.Append(new SafetensorsTensor("lm_head.weight", embedding.Dtype, embedding.Shape, embedding.Data)).ToList();
        SafetensorsWriter.Write(Path.Combine(hf, "model.safetensors"), withHead);
        using (var back = ModelLoader.Load(new HuggingFaceSource { Path = hf })) { }
        var changed = (byte[])embedding.Data.Clone();
        changed[5] ^= 1;
        SafetensorsWriter.Write(Path.Combine(hf, "model.safetensors"),
            file.Tensors.Append(new SafetensorsTensor("lm_head.weight", embedding.Dtype, embedding.Shape, changed)));
        var error = Assert.Throws<ModelSourceException>(() => ModelLoader.Load(new HuggingFaceSource { Path = hf }));
        Assert.Contains("lm_head.weight differs from model.embed_tokens.weight", error.Message);
    }

    [Fact]
    public void ShardedWeightsListedByAnIndexLoadLikeOneFile()
    {
        using var model = Random(Untied());
        var hf = Path.Combine(directory, "hf");
        HfLlamaExport.Write(model, hf);
        var single = Path.Combine(hf, "model.safetensors");
        var tensors = SafetensorsReader.Read(single).Tensors;
        File.Delete(single);
        var shards = tensors.GroupBy(t => t.Name.Contains(".layers.1.") ? "model-00002-of-00002.safetensors" : "model-00001-of-00002.safetensors").ToList();
        foreach (var shard in shards) SafetensorsWriter.Write(Path.Combine(hf, shard.Key), shard, [new("format", "pt")]);
        var index = new { metadata = new { total_size = 0 }, weight_map = shards.SelectMany(s => s.Select(t => (t.Name, s.Key))).ToDictionary(p => p.Name, p => p.Key) };
        File.WriteAllText(Path.Combine(hf, "model.safetensors.index.json"), JsonSerializer.Serialize(index));

        using var back = ModelLoader.Load(new HuggingFaceSource { Path = hf });
        using var tokens = Tokens(13);
        Assert.True(HfLlamaFixtures.SameBits(model.forward(tokens), back.forward(tokens)));
    }

    [Fact]
    public void AMissingTensorIsNamed()
    {
        using var model = Random(Tied());
        var hf = Path.Combine(directory, "hf");
        HfLlamaExport.Write(model, hf);
        var path = Path.Combine(hf, "model.safetensors");
        SafetensorsWriter.Write(path, SafetensorsReader.Read(path).Tensors.Where(t => t.Name != "model.layers.1.mlp.up_proj.weight"));
        var error = Assert.Throws<ModelSourceException>(() => ModelLoader.Load(new HuggingFaceSource { Path = hf }));
        Assert.Contains("missing tensors: model.layers.1.mlp.up_proj.weight", error.Message);
    }

    [Fact]
    public void ADirectoryWithOnlyAPickleIsRefusedWithoutReadingIt()
    {
        using var model = Random(Tied());
        var hf = Path.Combine(directory, "hf");
        HfLlamaExport.Write(model, hf);
        File.Delete(Path.Combine(hf, "model.safetensors"));
        File.WriteAllBytes(Path.Combine(hf, "pytorch_model.bin"), [0x80, 0x04, 0x95]);
        var error = Assert.Throws<ModelSourceException>(() => ModelLoader.Load(new HuggingFaceSource { Path = hf }));
        Assert.Contains("pytorch_model.bin", error.Message);
        Assert.Contains("never loaded", error.Message);
    }

    [Fact]
    public void ExportingIntoADirectoryThatHoldsAModelIsRefused()
    {
        using var model = Random(Tied());
        var hf = Path.Combine(directory, "hf");
        HfLlamaExport.Write(model, hf);
        Assert.Contains("already holds config.json", Assert.Throws<IOException>(() => HfLlamaExport.Write(model, hf)).Message);
    }
}
