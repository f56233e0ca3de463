using ModelDsl.Core.Generation;
using ModelDsl.Core.Vision;
using ModelDsl.Runtime.Compile;
using ModelDsl.Runtime.Tests.Layers;
using ModelDsl.Runtime.Vision;
using TorchSharp;
using static TorchSharp.torch;
using ModelDsl.Runtime.Parameters;

namespace ModelDsl.Runtime.Tests.Vision;

public class VisionModelTests
{
    private static Tensor Images(long batch, VisionSpec spec, ulong seed = 5) =>
        torch.rand([batch, spec.Channels, spec.ImageSize, spec.ImageSize], dtype: ScalarType.Float64, generator: new torch.Generator(seed, torch.CPU));

    private static Tensor Tokens(long batch, long length, int vocab, ulong seed = 2) =>
        torch.randint(0, vocab, [batch, length], dtype: ScalarType.Int64, generator: new torch.Generator(seed, torch.CPU));

    /// <summary>Exact equality: same shape and every element bit for bit.</summary>
    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    [Fact]
    public void PatchifyCutsRowMajorPatchesChannelFirst()
    {
        using var scope = NewDisposeScope();
        // Pixel value = 1000 c + 10 y + x identifies its coordinates.
        var images = torch.zeros([1, 2, 4, 4], dtype: ScalarType.Float64);
        for (var c = 0; c < 2; c++)
            for (var y = 0; y < 4; y++)
                for (var x = 0; x < 4; x++) images[0, c, y, x] = torch.tensor(1000.0 * c + 10 * y + x);
        var patches = PatchEmbedding.Patchify(images, 2);
        Assert.Equal([1L, 4, 8], patches.shape);
        // Patch 1 is the top-right one (rows 0-1, columns 2-3); channel 0 first, then channel 1.
        Assert.Equal([2.0, 3, 12, 13, 1002, 1003, 1012, 1013], patches[0, 1].data<double>().ToArray());
        Assert.Equal([20.0, 21, 30, 31, 1020, 1021, 1030, 1031], patches[0, 2].data<double>().ToArray());
    }

    [Theory]
    [InlineData(ProjectorKind.Mlp, null)]
    [InlineData(ProjectorKind.Linear, 2)]
    public void EncoderAndProjectorGradientsMatchFiniteDifferences(ProjectorKind projector, int? prefixTokens)
    {
        using var scope = NewDisposeScope();
        var spec = TinyVision.Small(projector, prefixTokens);
        using var model = VisionModelCompiler.Build(spec, ScalarType.Float64, seed: 3);
        GradientCheck.Perturb(model.Encoder, seed: 4);
        GradientCheck.Perturb(model.Projector, seed: 5);
        var images = Images(2, spec.Vision).requires_grad_(true);
        var k = spec.Vision.EffectivePrefixTokens;
        var loss = GradientCheck.WeightedSum(() => model.Prefix(images), [2, k, spec.Decoder.Width]);
        GradientCheck.Check(loss, [.. GradientCheck.Parameters(model.Encoder), .. GradientCheck.Parameters(model.Projector), ("images", images)]);
    }

    [Fact]
    public void GradientsFlowFromTheLogitsThroughTheDecoderIntoTheEncoder()
    {
        using var scope = NewDisposeScope();
        var spec = TinyVision.Small(prefixTokens: 2);
        using var model = VisionModelCompiler.Build(spec, ScalarType.Float64, seed: 8);
        GradientCheck.Perturb(model.Encoder, seed: 9);
        var images = Images(2, spec.Vision);
        var tokens = Tokens(2, 5, spec.Decoder.Vocab);
        var loss = GradientCheck.WeightedSum(() => model.Forward(images, tokens), [2, 5, spec.Decoder.Vocab]);
        var encoderParameters = GradientCheck.Parameters(model.Encoder).Where(p => p.Item1.StartsWith("blocks.0.attention", StringComparison.Ordinal) || p.Item1.StartsWith("patches", StringComparison.Ordinal));
        GradientCheck.Check(loss, [.. encoderParameters, .. GradientCheck.Parameters(model.Projector)]);
    }

    [Fact]
    public void WithoutAnImageTheModelIsExactlyTheTextOnlyDecoder()
    {
        using var scope = NewDisposeScope();
        var spec = TinyVision.Small();
        using var model = VisionModelCompiler.Build(spec, ScalarType.Float64, seed: 11);
        using var textOnly = ModelCompiler.Build(spec.Decoder, ScalarType.Float64, seed: 11);
        var tokens = Tokens(3, 7, spec.Decoder.Vocab);
        Assert.True(Same(textOnly.forward(tokens), model.Forward(null, tokens)));
        // The decoder's prefix overload with a null prefix is the old path, with and without a cache.
        Assert.True(Same(textOnly.forward(tokens), model.Decoder.Run(tokens, null, null).Logits));
        using var cache = model.Decoder.NewCache(3, 7);
        var cached = torch.cat([model.Decoder.Run(tokens.narrow(1, 0, 4), null, cache).Logits, model.Decoder.Run(tokens.narrow(1, 4, 3), null, cache).Logits], 1);
        Assert.Equal(7, cache.Length);
        Assert.True(GradientCheck.MaxAbsDifference(textOnly.forward(tokens), cached) < 1e-12);
    }

    [Fact]
    public void APrefixOfTokenEmbeddingsActsAsThoseTokensBeforeThePrompt()
    {
        // Independent reference for the prefix path: when the prefix rows are the embeddings of
        // tokens p, the logits of the prompt equal those of the text-only pass over [p, prompt].
        using var scope = NewDisposeScope();
        var spec = TinyVision.Small();
        using var model = VisionModelCompiler.Build(spec, ScalarType.Float64, seed: 12);
        var decoder = model.Decoder;
        var prefixTokens = Tokens(2, 3, spec.Decoder.Vocab, seed: 4);
        var prompt = Tokens(2, 5, spec.Decoder.Vocab, seed: 5);
        var embeddingWeight = decoder.named_parameters().Single(p => p.name == "embedding.weight").parameter;
        var prefix = embeddingWeight.index_select(0, prefixTokens.reshape(-1)).reshape(2, 3, -1);
        var withPrefix = decoder.Run(prompt, prefix, null).Logits;
        Assert.Equal([2L, 5, spec.Decoder.Vocab], withPrefix.shape);
        var reference = decoder.forward(torch.cat([prefixTokens, prompt], 1)).narrow(1, 3, 5);
        Assert.True(GradientCheck.MaxAbsDifference(reference, withPrefix) < 1e-12);
    }

    [Theory]
    [InlineData(new[] { 6 })]
    [InlineData(new[] { 3, 1, 1, 1 })]
    [InlineData(new[] { 1, 2, 3 })]
    public void CachedDecodingWithAnImagePrefixEqualsRecomputation(int[] chunks)
    {
        using var scope = NewDisposeScope();
        var spec = TinyVision.Small(prefixTokens: 2);
        using var model = VisionModelCompiler.Build(spec, ScalarType.Float64, seed: 13);
        var images = Images(3, spec.Vision);
        var tokens = Tokens(3, chunks.Sum(), spec.Decoder.Vocab);
        var full = model.Forward(images, tokens);
        using var cache = model.NewCache(3, 2 + chunks.Sum());
        var pieces = new List<Tensor>();
        var start = 0;
        foreach (var chunk in chunks)
        {
            pieces.Add(model.Forward(start == 0 ? images : null, tokens.narrow(1, start, chunk), cache));
            start += chunk;
        }
        Assert.Equal(2 + chunks.Sum(), cache.Length);
        Assert.True(GradientCheck.MaxAbsDifference(full, torch.cat(pieces, 1)) < 1e-10);
    }

    [Fact]
    public void GenerationWithTheCacheEqualsGenerationWithoutAndDependsOnTheImage()
    {
        using var scope = NewDisposeScope();
        var spec = TinyVision.Small(prefixTokens: 4);
        using var model = VisionModelCompiler.Build(spec, ScalarType.Float64, seed: 14);
        GradientCheck.Perturb(model.Encoder, seed: 1);
        GradientCheck.Perturb(model.Projector, seed: 2);
        var images = Images(4, spec.Vision, seed: 9) * 3;
        var prompts = Tokens(4, 3, spec.Decoder.Vocab);
        var greedy = new SamplingSpec { Temperature = 0 };
        var cached = VisionGenerator.Generate(model, images, prompts, 8, greedy, useCache: true);
        var recomputed = VisionGenerator.Generate(model, images, prompts, 8, greedy, useCache: false);
        Assert.True(Same(cached, recomputed));
        var textOnly = VisionGenerator.Generate(model, null, prompts, 8, greedy, useCache: true);
        Assert.True(Same(textOnly, ModelDsl.Runtime.Generation.Generator.Generate(model.Decoder, prompts, 8, greedy)));
        // Different images lead to different logits (the prefix is not ignored).
        var other = model.Forward(images.flip(3), prompts);
        Assert.True(GradientCheck.MaxAbsDifference(model.Forward(images, prompts), other) > 1e-6);
    }

    [Fact]
    public void FrozenPartsAreLeftOutOfTheTrainableParametersAndTakeNoGradient()
    {
        using var scope = NewDisposeScope();
        var spec = TinyVision.Small();
        using var all = VisionModelCompiler.Build(spec, ScalarType.Float64, seed: 1);
        using var frozen = VisionModelCompiler.Build(spec with { Vision = spec.Vision with { FreezeEncoder = true, FreezeProjector = true } }, ScalarType.Float64, seed: 1);
        var names = all.NamedParameters().Select(p => p.Name).ToList();
        Assert.Equal(all.parameters().Count(), names.Count);
        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.Contains("encoder.patches.positions", names);
        Assert.Contains(all.NamedParameters(), p => p.Name == "encoder.blocks.0.attention.qkv.weight" && p.Role == ParameterRole.HiddenMatrix && p.RowBlocks!.SequenceEqual([8L, 8, 8]));
        Assert.Contains(all.NamedParameters(), p => p.Name == "encoder.patches.positions" && p.Role == ParameterRole.Embedding);
        Assert.Contains(all.NamedParameters(), p => p.Name == "projector.first.bias" && p.Role == ParameterRole.Bias);
        Assert.Contains(all.NamedParameters(), p => p.Name == "decoder.embedding.weight" && p.Role == ParameterRole.Embedding);
        Assert.All(frozen.NamedParameters(), p => Assert.StartsWith("decoder.", p.Name));
        Assert.All(frozen.Encoder.parameters().Concat(frozen.Projector.parameters()), p => Assert.False(p.requires_grad));
        // Same seed, same weights whether frozen or not.
        Assert.True(Same(all.Prefix(Images(1, spec.Vision)), frozen.Prefix(Images(1, spec.Vision))));
    }

    [Fact]
    public void BadImagesAndPrefixesAreRefusedWithTheExpectedShape()
    {
        using var scope = NewDisposeScope();
        var spec = TinyVision.Small();
        using var model = VisionModelCompiler.Build(spec, ScalarType.Float64, seed: 1);
        var tokens = Tokens(2, 3, spec.Decoder.Vocab);
        var error = Assert.Throws<ArgumentException>(() => model.Forward(torch.zeros(2, 3, 8, 8, dtype: ScalarType.Float64), tokens));
        Assert.Contains("[batch, 2, 8, 8]", error.Message);
        Assert.Throws<ArgumentException>(() => model.Forward(torch.zeros(3, 2, 8, 8, dtype: ScalarType.Float64), tokens));
        Assert.Throws<ArgumentException>(() => model.Decoder.Run(tokens, torch.zeros(2, 1, 5, dtype: ScalarType.Float64), null));
        Assert.Throws<ArgumentException>(() => model.Decoder.Run(tokens, torch.zeros(2, 1, 12, dtype: ScalarType.Float32), null));
        // The prefix counts against the maximum length: 22 prefix + 3 tokens > 24.
        var tooLong = Assert.Throws<ArgumentException>(() => model.Decoder.Run(tokens, torch.zeros(2, 22, 12, dtype: ScalarType.Float64), null));
        Assert.Contains("maxSequenceLength", tooLong.Message);
    }
}
