using ModelDsl.Core.Generation;
using ModelDsl.Core.Validation;
using ModelDsl.Runtime.Compile;
using ModelDsl.Runtime.Tests.Compile;
using TorchSharp;
using static TorchSharp.torch;
using TokenGenerator = ModelDsl.Runtime.Generation.Generator;

namespace ModelDsl.Runtime.Tests.Generation;

public class GeneratorTests
{
    private static Tensor Prompts(int vocab) =>
        torch.randint(0, vocab, [4, 5], dtype: ScalarType.Int64, generator: new torch.Generator(8, torch.CPU));

    [Fact]
    public void GreedyGenerationWithTheCacheEqualsGenerationWithout()
    {
        using var scope = NewDisposeScope();
        using var model = ModelCompiler.Build(TinyModels.GroupedQuery(), ScalarType.Float64, seed: 4);
        var prompts = Prompts(13);
        var greedy = new SamplingSpec { Temperature = 0 };
        var cached = TokenGenerator.Generate(model, prompts, 12, greedy);
        var uncached = TokenGenerator.Generate(model, prompts, 12, greedy, useCache: false);
        Assert.Equal([4L, 17], cached.shape);
        Assert.Equal(ScalarType.Int64, cached.dtype);
        Assert.True(cached.narrow(1, 0, 5).equal(prompts).all().item<bool>());
        Assert.Equal(uncached.data<long>().ToArray(), cached.data<long>().ToArray());

        // Greedy means argmax of the model's own next-token logits at every step.
        var logits = model.forward(cached.narrow(1, 0, 16));
        var argmax = logits.narrow(1, 4, 12).argmax(-1);
        Assert.Equal(argmax.data<long>().ToArray(), cached.narrow(1, 5, 12).contiguous().data<long>().ToArray());
    }

    [Fact]
    public void SamplingWithTheCacheEqualsSamplingWithoutForTheSameSeed()
    {
        using var scope = NewDisposeScope();
        using var model = ModelCompiler.Build(TinyModels.Mixed(), ScalarType.Float64, seed: 5);
        var prompts = Prompts(11);
        var sampling = new SamplingSpec { Temperature = 0.9, TopP = 0.95 };
        var cached = TokenGenerator.Generate(model, prompts, 15, sampling, new torch.Generator(21, torch.CPU));
        var uncached = TokenGenerator.Generate(model, prompts, 15, sampling, new torch.Generator(21, torch.CPU), useCache: false);
        Assert.Equal(uncached.data<long>().ToArray(), cached.data<long>().ToArray());

        // Sampling is not secretly greedy, and another seed gives other tokens.
        var greedy = TokenGenerator.Generate(model, prompts, 15, new SamplingSpec { Temperature = 0 });
        var otherSeed = TokenGenerator.Generate(model, prompts, 15, sampling, new torch.Generator(22, torch.CPU));
        Assert.NotEqual(greedy.data<long>().ToArray(), cached.data<long>().ToArray());
        Assert.NotEqual(otherSeed.data<long>().ToArray(), cached.data<long>().ToArray());
    }

    [Fact]
    public void BadArgumentsAreRejected()
    {
        using var scope = NewDisposeScope();
        using var model = ModelCompiler.Build(TinyModels.GroupedQuery(maxSequenceLength: 10));
        var prompts = Prompts(13);
        var sampling = new SamplingSpec();
        Assert.Contains("maxSequenceLength 10", Assert.Throws<ArgumentException>(() => TokenGenerator.Generate(model, prompts, 6, sampling)).Message);
        var invalid = Assert.Throws<SpecValidationException>(() => TokenGenerator.Generate(model, prompts, 2, new SamplingSpec { Temperature = -1, TopP = 0 }));
        Assert.Equal(["sampling.temperature", "sampling.topP"], invalid.Errors.Select(e => e.Path));
        Assert.Throws<ArgumentException>(() => TokenGenerator.Generate(model, prompts.to(ScalarType.Int32), 2, sampling));
        Assert.Equal(prompts.data<long>().ToArray(), TokenGenerator.Generate(model, prompts, 0, sampling).data<long>().ToArray());
    }
}
