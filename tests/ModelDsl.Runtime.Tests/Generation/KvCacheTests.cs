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
