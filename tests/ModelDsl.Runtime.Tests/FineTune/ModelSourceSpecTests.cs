using ModelDsl.Core.FineTune;
using ModelDsl.Core.Json;
using ModelDsl.Core.Validation;

namespace ModelDsl.Runtime.Tests.FineTune;

public sealed class ModelSourceSpecTests
{
    [Fact]
    public void NestedSourcesRoundTripThroughJsonWithKindDiscriminators()
    {
        ModelSource source = new PerturbedSource
        {
            Source = new InterpolatedSource { A = new RunSource { Path = "runs/early" }, B = new CheckpointSource { Path = "late.ckpt" }, Alpha = 0.25 },
            Gamma = 0.02,
            NoiseSeed = 7,
        };
        var json = SpecJson.Serialize(source);
        Assert.Contains("\"kind\": \"perturbed\"", json);
        Assert.Contains("\"kind\": \"interpolation\"", json);
        Assert.Contains("\"kind\": \"fromRun\"", json);
        Assert.Contains("\"kind\": \"fromCheckpoint\"", json);
        Assert.Equal(source, SpecJson.Deserialize<ModelSource>(json));
    }

    [Fact]
    public void InvalidNestedSourcesReportPathQualifiedErrors()
    {
        var source = new InterpolatedSource { A = new RunSource { Path = "" }, B = new PerturbedSource { Source = null!, Gamma = -1 }, Alpha = 1.5 };
        var errors = Assert.Throws<SpecValidationException>(() => source.EnsureValid()).Errors.Select(e => e.ToString()).ToList();
        Assert.Contains(errors, e => e.StartsWith("source.a.path:"));
        Assert.Contains(errors, e => e.StartsWith("source.b.source: is missing"));
        Assert.Contains(errors, e => e.StartsWith("source.b.gamma:"));
        Assert.Contains(errors, e => e.StartsWith("source.alpha:"));
    }

    [Fact]
    public void SftAndSamplingSpecsValidateTheirFields()
    {
        var sft = new SftSpec { Source = new CheckpointSource() };
        Assert.Contains(Assert.Throws<SpecValidationException>(() => sft.EnsureValid()).Errors, e => e.Path == "fineTune.source.path");
        var sampling = new SamplingEvalSpec { Samples = 4, Ks = new[] { 1, 8 } };
        Assert.Contains(Assert.Throws<SpecValidationException>(() => sampling.EnsureValid()).Errors, e => e.Path == "samplingEval.ks[1]");
        var perturbation = new PerturbationSpec { Gammas = new[] { 0.1, -0.1 }, NoiseSeeds = System.Array.Empty<long>() };
        var errors = Assert.Throws<SpecValidationException>(() => perturbation.EnsureValid()).Errors;
        Assert.Contains(errors, e => e.Path == "perturbation.gammas[1]");
        Assert.Contains(errors, e => e.Path == "perturbation.noiseSeeds");
    }
}
