using ModelDsl.Core.Model;
using ModelDsl.Runtime.Compile;
using ModelDsl.Runtime.Tests.Compile;
using ModelDsl.Runtime.Tests.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tests.Generation;

public class KvCacheTests
{
    public static TheoryData<string, int[]> Chunkings => new()
    {
        { "grouped-query", [1, 1, 1, 1, 1, 1, 1, 1, 1, 1] },   // token by token
        { "grouped-query", [4, 3, 1, 2] },                     // a prompt, then chunks
        { "mixed", [1, 1, 1, 1, 1, 1, 1, 1, 1, 1] },
        { "mixed", [2, 5, 3] },
    };

    private static ModelSpec Spec(string name) => name == "mixed" ? TinyModels.Mixed() : TinyModels.GroupedQuery();

    [Theory]
    [MemberData(nameof(Chunkings))]
    public void CachedLogitsEqualTheFullForward(string modelName, int[] chunks)
    {
        using var scope = NewDisposeScope();
        var spec = Spec(modelName);
        using var model = ModelCompiler.Build(spec, ScalarType.Float64, seed: 1);
        var length = chunks.Sum();
        var tokens = torch.randint(0, spec.Vocab, [3, length], dtype: ScalarType.Int64, generator: new torch.Generator(2, torch.CPU));
        var full = model.forward(tokens);

        using var cache = model.NewCache(batch: 3, capacity: length);
        var pieces = new List<Tensor>();
        var start = 0;
        foreach (var chunk in chunks)
        {
            Assert.Equal(start, cache.Length);
            var logits = model.Forward(tokens.narrow(1, start, chunk), cache);
            Assert.Equal([3L, chunk, spec.Vocab], logits.shape);
            pieces.Add(logits);
            start += chunk;
        }
        Assert.Equal(length, cache.Length);
        Assert.True(GradientCheck.MaxAbsDifference(full, torch.cat(pieces, 1)) < 1e-10);
    }

    [Fact]
    public void AModelCastAfterBuildingComputesAndCachesInItsNewDtype()
    {
        using var scope = NewDisposeScope();
        using var cast = ModelCompiler.Build(TinyModels.GroupedQuery(), ScalarType.Float32, seed: 6);
        cast.to(ScalarType.Float64);
        using var built = ModelCompiler.Build(TinyModels.GroupedQuery(), ScalarType.Float64, seed: 6);
        Assert.Equal(ScalarType.Float64, cast.Dtype);
        var tokens = torch.randint(0, 13, [2, 6], dtype: ScalarType.Int64, generator: new torch.Generator(3, torch.CPU));
        var full = cast.forward(tokens);
        Assert.Equal(ScalarType.Float64, full.dtype);
        // Same seed: the same weights up to their float32 rounding.
        Assert.True(GradientCheck.MaxAbsDifference(full, built.forward(tokens)) < 1e-5);
        using var cache = cast.NewCache(2, 6);
        var stepwise = torch.cat(Enumerable.Range(0, 6).Select(t => cast.Forward(tokens.narrow(1, t, 1), cache)).ToList(), 1);
        Assert.True(GradientCheck.MaxAbsDifference(full, stepwise) < 1e-10);
    }

    [Fact]
    public void ACacheRefusesMoreTokensThanItsCapacity()
    {
        using var scope = NewDisposeScope();
        using var model = ModelCompiler.Build(TinyModels.GroupedQuery());
        using var cache = model.NewCache(batch: 2, capacity: 4);
        model.Forward(torch.zeros(2, 3, ScalarType.Int64), cache);
        var error = Assert.Throws<ArgumentException>(() => model.Forward(torch.zeros(2, 2, ScalarType.Int64), cache));
        Assert.Contains("holds 4 positions", error.Message);
        Assert.Throws<ArgumentException>(() => model.Forward(torch.zeros(3, 1, ScalarType.Int64), cache));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.NewCache(batch: 1, capacity: 33));
    }
}
