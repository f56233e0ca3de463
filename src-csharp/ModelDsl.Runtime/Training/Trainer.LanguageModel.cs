using ModelDsl.Core;
using ModelDsl.Core.Generation;
using ModelDsl.Runtime.Compile;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Training;

public static partial class Trainer
{
    private static readonly SamplingSpec Greedy = new() { Temperature = 0 };

    /// <summary>Compiles the spec's model with <see cref="ModelCompiler"/> and trains it on the spec's task.</summary>
    public static TrainResult Run(ExperimentSpec spec, TrainOptions? options = null) => Run(spec, options, BuildLanguageModel);

    /// <summary>The compiled model as the loop sees it: parameters with the roles the optimizer groups by.</summary>
    public static TrainableModel BuildLanguageModel(ModelDsl.Core.Model.ModelSpec spec, ScalarType dtype, Device device, long seed)
    {
        var model = ModelCompiler.Build(spec, dtype, device, seed);
        return new TrainableModel(model, model.NamedParameters(), model.ParameterCount, model.NonEmbeddingParameterCount,
            (prompts, newTokens) => ModelDsl.Runtime.Generation.Generator.Generate(model, prompts, newTokens, Greedy))
        {
            Attention = new ModelDsl.Runtime.Optim.AttentionLayout(name => QueryKeyHeads(spec, name)),
        };
    }

    /// <summary>The fused projection "blocks.i.attention.qkv.weight" stacks Heads query heads, then KvHeads key heads, then values.</summary>
    private static ModelDsl.Runtime.Optim.QueryKeyHeads? QueryKeyHeads(ModelDsl.Core.Model.ModelSpec spec, string name)
    {
        var parts = name.Split('.');
        if (parts is not ["blocks", var index, "attention", "qkv", "weight"] || !int.TryParse(index, out var block)) return null;
        var attention = spec.Blocks.ElementAt(block).Mixer;
        return new ModelDsl.Runtime.Optim.QueryKeyHeads(attention.Heads + attention.EffectiveKvHeads, attention.EffectiveHeadDim(spec.Width));
    }
}
