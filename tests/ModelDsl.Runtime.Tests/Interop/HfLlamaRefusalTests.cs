using System.Text.Json.Nodes;
using ModelDsl.Core.FineTune;
using ModelDsl.Core.Model;
using ModelDsl.Runtime.FineTune;
using ModelDsl.Runtime.Interop;
using static ModelDsl.Runtime.Tests.Interop.HfLlamaFixtures;

namespace ModelDsl.Runtime.Tests.Interop;

/// <summary>What HF Llama cannot express is refused by name, on export and on import.</summary>
public sealed class HfLlamaRefusalTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("hf-refuse-").FullName;
    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static ModelSpec WithBlock(Func<BlockSpec, BlockSpec> edit, int index = 1)
    {
        var spec = Tied();
        return spec with { Blocks = new Core.ValueList<BlockSpec>(spec.Blocks.Select((b, i) => i == index ? edit(b) : b)) };
    }

    public static TheoryData<string, string> Features() => new()
    {
        { "qkNorm", "model.blocks[1].attention.qkNorm: QK-norm" },
        { "gate", "model.blocks[1].attention.gate: an attention gate" },
        { "path", "model.blocks[1].attention.position: PaTH" },
        { "nope", "model.blocks[1].attention.position: NoPE" },
        { "moe", "model.blocks[1].feedForward: a mixture of experts" },
        { "gelu", "model.blocks[1].feedForward.activation: a Gelu feed-forward" },
        { "heads", "model.blocks[1].attention.heads: 4 differs from block 0's 2" },
        { "eps", "model.blocks[1].norm.eps: 1E-05 differs from block 0's 1E-06" },
        { "finalEps", "model.finalNorm.eps" },
    };

    [Theory]
    [MemberData(nameof(Features))]
    public void AFeatureLlamaCannotExpressIsNamedOnExport(string feature, string expected)
    {
        var spec = feature switch
        {
            "qkNorm" => WithBlock(b => b with { Attention = b.Attention with { QkNorm = true } }),
            "gate" => WithBlock(b => b with { Attention = b.Attention with { Gate = new GateSpec() } }),
            "path" => WithBlock(b => b with { Attention = b.Attention with { Position = new PathPosition() } }),
            "nope" => WithBlock(b => b with { Attention = b.Attention with { Position = new NoPosition() } }),
            "moe" => WithBlock(b => b with { FeedForward = new MoeFeedForward { Experts = 2, TopK = 1 } }),
            "gelu" => WithBlock(b => b with { FeedForward = new DenseFeedForward { Activation = Activation.Gelu } }),
            "heads" => WithBlock(b => b with { Attention = b.Attention with { Heads = 4 } }),
            "eps" => WithBlock(b => b with { Norm = new Core.Model.RmsNorm { Eps = 1e-5 } }),
            "finalEps" => Tied() with { FinalNorm = new Core.Model.RmsNorm { Eps = 1e-5 } },
            _ => throw new ArgumentException(feature),
        };
        Assert.Empty(spec.Validate());
        using var model = ModelDsl.Runtime.Compile.ModelCompiler.Build(spec);
        var error = Assert.Throws<HfLlamaException>(() => HfLlamaExport.Write(model, Path.Combine(directory, feature)));
        Assert.Contains(expected, error.Message);
        Assert.False(Directory.Exists(Path.Combine(directory, feature)) && Directory.EnumerateFiles(Path.Combine(directory, feature)).Any());
    }

    [Fact]
    public void AnExportableModelHasNoProblems() => Assert.Empty(HfLlamaCompatibility.Problems(Untied()));

    public static TheoryData<string, string, string> Configs() => new()
    {
        // key to change, its JSON value, what the error must say
        { "rope_scaling", """{"rope_type": "llama3", "factor": 8.0}""", "rope_scaling.factor: is not supported" },
        { "rope_scaling", """{"rope_type": "dynamic"}""", "rope_scaling: rope type \"dynamic\" is not supported" },
        { "sliding_window", "4096", "sliding_window: is not a Llama config key this reader understands" },
        { "model_type", "\"mistral\"", "model_type: \"mistral\" is not supported" },
        { "hidden_act", "\"gelu\"", "hidden_act: \"gelu\" is not supported" },
        { "attention_dropout", "0.1", "attention_dropout: 0.1 is not supported" },
        { "num_key_value_heads", "3", "num_key_value_heads: 3 does not divide num_attention_heads 2" },
        { "hidden_size", "-4", "hidden_size: -4 must be a positive integer" },
        { "torch_dtype", "\"int8\"", "torch_dtype: \"int8\" is not supported" },
        { "architectures", """["LlamaForSequenceClassification"]""", "architectures: " },
    };

    [Theory]
    [MemberData(nameof(Configs))]
    public void AnUnsupportedConfigValueIsRefusedNamingTheKey(string key, string value, string expected)
    {
        using var model = Random(Tied());
        var hf = Path.Combine(directory, "hf");
        HfLlamaExport.Write(model, hf);
        var configPath = Path.Combine(hf, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        config[key] = JsonNode.Parse(value);
        File.WriteAllText(configPath, config.ToJsonString());

        var error = Assert.Throws<ModelSourceException>(() => ModelLoader.Load(new HuggingFaceSource { Path = hf }));
        Assert.Contains(configPath, error.Message);
        Assert.Contains(expected, error.Message);
        Assert.Contains("source.path", error.Message);
        Assert.Throws<HfLlamaException>(() => HfLlamaImport.WriteRun(hf, Path.Combine(directory, "run")));
        Assert.False(Directory.Exists(Path.Combine(directory, "run", "checkpoints")));
    }

    [Fact]
    public void AHandWrittenConfigWithAnUnsupportedFeatureIsRefusedNamingIt()
    {
        var hf = Directory.CreateDirectory(Path.Combine(directory, "qwen-like")).FullName;
        File.WriteAllText(Path.Combine(hf, "config.json"), """
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 16, "intermediate_size": 32,
             "num_attention_heads": 2, "num_hidden_layers": 1, "vocab_size": 8, "use_sliding_window": true}
            """);
        var error = Assert.Throws<HfLlamaException>(() => HfLlamaImport.ReadConfig(hf));
        Assert.Contains("use_sliding_window", error.Message);
    }

    [Fact]
    public void AMinimalConfigTakesLlamaConfigDefaults()
    {
        var hf = Directory.CreateDirectory(Path.Combine(directory, "minimal")).FullName;
        File.WriteAllText(Path.Combine(hf, "config.json"), """
            {"model_type": "llama", "hidden_size": 16, "intermediate_size": 64, "num_attention_heads": 2, "num_hidden_layers": 3, "vocab_size": 8}
            """);
        var spec = HfLlamaImport.ReadConfig(hf).ToModelSpec();
        Assert.Equal(3, spec.Blocks.Count);
        Assert.False(spec.TiedHead);
        Assert.Equal(2048, spec.MaxSequenceLength);
        Assert.Equal(1e-6, ((Core.Model.RmsNorm)spec.FinalNorm).Eps);
        Assert.Equal(10000, ((Rope)spec.Blocks[0].Attention.Position).Theta);
        Assert.Null(spec.Blocks[0].Attention.KvHeads);
        Assert.Null(((DenseFeedForward)spec.Blocks[0].FeedForward).Hidden);
    }
}
