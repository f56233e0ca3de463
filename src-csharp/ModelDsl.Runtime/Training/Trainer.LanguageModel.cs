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

    /// <summary>
    /// The compiled model as the loop sees it. Weight decay applies to hidden matrices and an untied
    /// head, never to embeddings, norm gains or biases (the decayed group of OptimizerSpec).
    /// </summary>
    public static TrainableModel BuildLanguageModel(ModelDsl.Core.Model.ModelSpec spec, ScalarType dtype, Device device, long seed)
    {
        var model = ModelCompiler.Build(spec, dtype, device, seed);
        var parameters = model.NamedParameters()
            .Select(p => new TrainableParameter(p.Name, p.Parameter, p.Role is ParameterRole.HiddenMatrix or ParameterRole.Head))
            .ToList();
        return new TrainableModel(model, parameters, model.ParameterCount, model.NonEmbeddingParameterCount,
            (prompts, newTokens) => ModelDsl.Runtime.Generation.Generator.Generate(model, prompts, newTokens, Greedy));
    }
}
