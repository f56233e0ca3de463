using ModelDsl.Core.Model;
using ModelDsl.Core.Validation;
using ModelDsl.Core.Vision;
using ModelDsl.Runtime.Vision;
using TorchSharp;

namespace ModelDsl.Runtime.Tests.Vision;

public class VisionSpecTests
{
    private static IReadOnlyList<ValidationError> Errors(VisionLanguageSpec spec) => spec.Validate();

    [Fact]
    public void TheDefaultsAndTheTestSpecsValidate()
    {
        Assert.Empty(Errors(new VisionLanguageSpec { Decoder = ModelSpec.Llama(32, 16, 1, 2) }));
        Assert.Empty(Errors(TinyVision.Small()));
        Assert.Empty(Errors(TinyVision.Scenes()));
        Assert.Equal(16, new VisionSpec().Patches);
        Assert.Equal(16, new VisionSpec().EffectivePrefixTokens);
        Assert.Equal(4, (new VisionSpec { PrefixTokens = 4 }).EffectivePrefixTokens);
    }

    [Theory]
    [InlineData("patchSize", "does not divide imageSize 32")]
    [InlineData("heads", "does not divide width 32")]
    [InlineData("prefixTokens", "does not divide the 16 patches")]
    [InlineData("projectorHidden", "only used by the mlp projector")]
    [InlineData("normEps", "must be a positive number")]
    [InlineData("depth", "must be zero or positive")]
    public void EachBrokenRuleIsReportedAtItsPath(string field, string message)
    {
        var vision = field switch
        {
            "patchSize" => new VisionSpec { PatchSize = 5 },
            "heads" => new VisionSpec { Heads = 3 },
            "prefixTokens" => new VisionSpec { PrefixTokens = 5 },
            "projectorHidden" => new VisionSpec { Projector = ProjectorKind.Linear, ProjectorHidden = 8 },
            "normEps" => new VisionSpec { NormEps = 0 },
            "depth" => new VisionSpec { Depth = -1 },
            _ => throw new ArgumentException(field),
        };
        var errors = Errors(new VisionLanguageSpec { Vision = vision, Decoder = ModelSpec.Llama(32, 16, 1, 2) });
        var error = Assert.Single(errors);
        Assert.Equal($"visionLanguage.vision.{field}", error.Path);
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void TheDecoderMustHaveRoomForThePrefixAndItsOwnErrorsCarryTheirPath()
    {
        var spec = new VisionLanguageSpec { Decoder = ModelSpec.Llama(32, 16, 1, 3) with { MaxSequenceLength = 16 } };
        var errors = Errors(spec);
        Assert.Contains(errors, e => e.Path == "visionLanguage.decoder.maxSequenceLength" && e.Message.Contains("16 image prefix"));
        Assert.Contains(errors, e => e.Path.StartsWith("visionLanguage.decoder.blocks[0]", StringComparison.Ordinal));
    }

    [Fact]
    public void AnInvalidSpecThrowsBeforeBuildingAndTheOtherSpecsValidate()
    {
        var spec = TinyVision.Small() with { Vision = TinyVision.Small().Vision with { PatchSize = 3 } };
        var error = Assert.Throws<SpecValidationException>(() => VisionModelCompiler.Build(spec, torch.ScalarType.Float64));
        Assert.Contains(error.Errors, e => e.Path == "visionLanguage.vision.patchSize");

        var v = new Validator();
        new SvcoSpec { BetaWinnerAttend = 0, BetaWinnerReject = -1, BetaLoserAttend = 0, BetaLoserReject = 0 }.Validate(v, "svco");
        new SvcoSpec { BetaLoserReject = double.NaN }.Validate(v, "svco2");
        new PreferenceSpec { Beta = 0 }.Validate(v, "dpo");
        new SceneTaskSpec { PriorStrength = 1.5, HeldOutFraction = 1, ContrastKinds = Array.Empty<ContrastKind>() }.Validate(v, "scenes");
        var paths = v.Errors.Select(e => e.Path).ToList();
        Assert.Equal(["svco", "svco2.betaLoserReject", "dpo.beta", "scenes.priorStrength", "scenes.heldOutFraction", "scenes.contrastKinds"], paths);
    }
}

public class VisionSpecJsonTests
{
    [Fact]
    public void SpecsRoundTripThroughJsonWithoutDerivedFields()
    {
        var spec = TinyVision.Small(prefixTokens: 2) with { Vision = TinyVision.Small(prefixTokens: 2).Vision with { FreezeEncoder = true } };
        var json = Core.Json.SpecJson.Serialize(spec);
        Assert.Contains("\"projector\": \"mlp\"", json);
        Assert.DoesNotContain("effectivePrefixTokens", json);
        var back = Core.Json.SpecJson.Deserialize<VisionLanguageSpec>(json);
        Assert.Equal(Core.Json.SpecJson.Serialize(back), json);
        Assert.Equal(spec.Vision, back.Vision);

        var svco = new SvcoSpec { BetaLoserReject = 0 };
        Assert.Equal(svco, Core.Json.SpecJson.Deserialize<SvcoSpec>(Core.Json.SpecJson.Serialize(svco)));
        var scenes = new SceneTaskSpec { PriorStrength = 0.9, ContrastKinds = new[] { ContrastKind.Flip, ContrastKind.Count } };
        var scenesJson = Core.Json.SpecJson.Serialize(scenes);
        Assert.Contains("\"flip\"", scenesJson);
        Assert.Equal(scenes, Core.Json.SpecJson.Deserialize<SceneTaskSpec>(scenesJson));
        Assert.Throws<Core.Json.SpecFormatException>(() => Core.Json.SpecJson.Deserialize<VisionSpec>("{\"patchSise\": 4}"));
    }
}
