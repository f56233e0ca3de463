using ModelDsl.Core;
using ModelDsl.Core.Model;
using ModelDsl.Core.Training;
using ModelDsl.Runtime.Compile;
using ModelDsl.Runtime.Optim;
using ModelDsl.Runtime.Parameters;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tests.Parameters;

/// <summary>
/// Pins, for a model with PaTH (forget gate, short convolution), attention gates, a mixture of
/// experts with shared experts and an untied head, the role every parameter's layer publishes and
/// the group, decay and clipping every optimizer gives it. A change to a group rule shows here
/// parameter by parameter.
/// </summary>
public sealed class ParameterGroupTests
{
    private static ModelSpec Stack() => ModelSpec.Llama(vocab: 11, width: 16, depth: 2, heads: 4) with
    {
        MaxSequenceLength = 32,
        TiedHead = false,
        Blocks = ValueList.Of(
            new BlockSpec { Attention = new AttentionSpec { Heads = 4, KvHeads = 2, Position = new PathPosition { ForgetGate = true, LowRank = 8 }, Gate = new GateSpec() } },
            new BlockSpec
            {
                Attention = new AttentionSpec { Heads = 4, KvHeads = 2, Gate = new GateSpec { Position = GatePosition.G2, Granularity = GateGranularity.Headwise } },
                FeedForward = new MoeFeedForward { Experts = 4, TopK = 2, ExpertHidden = 8, Shared = new SharedExperts { Count = 1, Hidden = 8 } },
            }),
    };

    // name, role, Muon's group, Scion's group
    private static readonly (string Name, ParameterRole Role, string Muon, string Scion)[] Expected =
    [
        ("embedding.weight", ParameterRole.Embedding, "adamW", "signum"),
        ("blocks.0.attentionNorm.weight", ParameterRole.Norm, "adamW", "signum"),
        ("blocks.0.attention.qkv.weight", ParameterRole.HiddenMatrix, "muon", "spectral"),
        ("blocks.0.attention.output.weight", ParameterRole.HiddenMatrix, "muon", "spectral"),
        ("blocks.0.attention.core.directionDown.weight", ParameterRole.HiddenMatrix, "muon", "spectral"),
        ("blocks.0.attention.core.directionUp.weight", ParameterRole.HiddenMatrix, "muon", "spectral"),
        ("blocks.0.attention.core.convolution", ParameterRole.ConvolutionFilter, "muon", "spectral"),
        ("blocks.0.attention.core.strength.weight", ParameterRole.HiddenMatrix, "muon", "spectral"),
        ("blocks.0.attention.core.strength.bias", ParameterRole.Bias, "adamW", "signum"),
        ("blocks.0.attention.core.forgetGate.weight", ParameterRole.Gate, "muon", "spectral"),
        ("blocks.0.attention.core.forgetGate.bias", ParameterRole.Bias, "adamW", "signum"),
        ("blocks.0.attention.gate.projection.weight", ParameterRole.Gate, "muon", "spectral"),
        ("blocks.0.feedForwardNorm.weight", ParameterRole.Norm, "adamW", "signum"),
        ("blocks.0.feedForward.gateUp.weight", ParameterRole.HiddenMatrix, "muon", "spectral"),
        ("blocks.0.feedForward.down.weight", ParameterRole.HiddenMatrix, "muon", "spectral"),
        ("blocks.1.attentionNorm.weight", ParameterRole.Norm, "adamW", "signum"),
        ("blocks.1.attention.qkv.weight", ParameterRole.HiddenMatrix, "muon", "spectral"),
        ("blocks.1.attention.output.weight", ParameterRole.HiddenMatrix, "muon", "spectral"),
        ("blocks.1.attention.gate.projection.weight", ParameterRole.Gate, "muon", "spectral"),
        ("blocks.1.feedForwardNorm.weight", ParameterRole.Norm, "adamW", "signum"),
        ("blocks.1.feedForward.router.scores.weight", ParameterRole.Router, "muon", "spectral"),
        ("blocks.1.feedForward.experts.gateUp", ParameterRole.HiddenMatrix, "muon", "spectral"),
        ("blocks.1.feedForward.experts.down", ParameterRole.HiddenMatrix, "muon", "spectral"),
        ("blocks.1.feedForward.shared.gateUp.weight", ParameterRole.HiddenMatrix, "muon", "spectral"),
        ("blocks.1.feedForward.shared.down.weight", ParameterRole.HiddenMatrix, "muon", "spectral"),
        ("finalNorm.weight", ParameterRole.Norm, "adamW", "signum"),
        ("head.weight", ParameterRole.Head, "adamW", "signum"),
    ];

    private static readonly HashSet<ParameterRole> Decayed =
        [ParameterRole.HiddenMatrix, ParameterRole.Head, ParameterRole.Router, ParameterRole.ConvolutionFilter, ParameterRole.Gate];

    [Fact]
    public void EveryParameterHasThePublishedRoleAndFacts()
    {
        using var model = ModelCompiler.Build(Stack(), ScalarType.Float32, seed: 1);
        var parameters = model.NamedParameters();
        Assert.Equal(Expected.Select(e => e.Name).Order(), parameters.Select(p => p.Name).Order());
        var byName = parameters.ToDictionary(p => p.Name);
        foreach (var e in Expected) Assert.True(e.Role == byName[e.Name].Role, $"{e.Name}: {byName[e.Name].Role}, expected {e.Role}");
        // Fused weights and heads: q, k, v rows of 4 query and 2 KV heads of dimension 4.
        Assert.Equal([16L, 8, 8], byName["blocks.1.attention.qkv.weight"].RowBlocks);
        Assert.Equal(new QueryKeyHeads(6, 4), byName["blocks.1.attention.qkv.weight"].HeadBlocks);
        Assert.Equal(Enumerable.Repeat(8L, 8), byName["blocks.1.feedForward.experts.gateUp"].RowBlocks!);
        Assert.Equal([64L, 64], byName["blocks.0.feedForward.gateUp.weight"].RowBlocks);   // the default SwiGLU hidden of width 16
        var residual = parameters.Where(p => p.ResidualOutput).Select(p => p.Name).Order();
        Assert.Equal(["blocks.0.attention.output.weight", "blocks.0.feedForward.down.weight", "blocks.1.attention.output.weight",
            "blocks.1.feedForward.experts.down", "blocks.1.feedForward.shared.down.weight"], residual);
    }

    public static TheoryData<string> Optimizers => new() { "adamW", "lion", "soap", "kron", "adamMini", "muon", "scion" };

    [Theory]
    [MemberData(nameof(Optimizers))]
    public void EveryOptimizerGroupsEveryParameterByItsRole(string kind)
    {
        using var model = ModelCompiler.Build(Stack(), ScalarType.Float32, seed: 1);
        OptimizerSpec spec = kind switch
        {
            "adamW" => new AdamW(), "lion" => new Lion(), "soap" => new Soap(), "kron" => new Kron(),
            "adamMini" => new AdamMini(), "muon" => new Muon(), "scion" => new Scion(),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        using var optimizer = OptimizerFactory.Create(spec, model.NamedParameters(), clipGradNorm: 1.0);
        var slots = optimizer.Slots.ToDictionary(s => s.Name);
        foreach (var e in Expected)
        {
            var slot = slots[e.Name];
            var (group, clipped) = kind switch
            {
                "muon" => (e.Muon, e.Muon == "adamW"),   // Muon clips its AdamW group only
                "scion" => (e.Scion, true),
                _ => (kind, true),
            };
            Assert.True(group == slot.Group, $"{kind}: {e.Name} is in group {slot.Group}, expected {group}");
            Assert.True(Decayed.Contains(e.Role) == slot.Decay, $"{kind}: {e.Name} decay {slot.Decay}");
            Assert.True(clipped == slot.Clipped, $"{kind}: {e.Name} clipped {slot.Clipped}");
            var ratio = kind switch { "muon" when e.Muon == "adamW" => new Muon().AdamLrRatio, "scion" when e.Scion == "signum" => new Scion().SignumLrRatio, _ => 1.0 };
            Assert.Equal(ratio, slot.LrRatio);
        }
    }
}
