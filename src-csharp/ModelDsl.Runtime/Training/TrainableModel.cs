using ModelDsl.Runtime.Parameters;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Training;

/// <summary>
/// What the training loop needs from a model: the module mapping int64 tokens [B, T] to logits
/// [B, T, V], its parameters with their roles (which decide optimizer groups and weight decay), its size, and greedy generation
/// (prompts [B, P] to [B, P + N]) for accuracy.
/// </summary>
public sealed record TrainableModel(
    nn.Module<Tensor, Tensor> Module,
    IReadOnlyList<NamedParameter> Parameters,
    long ParameterCount,
    long NonEmbeddingParameterCount,
    Func<Tensor, int, Tensor> GenerateGreedy)
{
}

/// <summary>Builds the model for a spec: the model spec, element type, device and seed.</summary>
public delegate TrainableModel TrainableModelFactory(ModelDsl.Core.Model.ModelSpec spec, ScalarType dtype, Device device, long seed);
