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
            (prompts, newTokens) => ModelDsl.Runtime.Generation.Generator.Generate(model, prompts, newTokens, Greedy));
    }
}
