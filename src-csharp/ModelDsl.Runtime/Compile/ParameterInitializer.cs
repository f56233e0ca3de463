using ModelDsl.Core.Model;
using ModelDsl.Runtime.Parameters;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using ModelDsl.Runtime.Model;

namespace ModelDsl.Runtime.Compile;

/// <summary>
/// Initialises a freshly built model per <see cref="InitSpec"/>: matrices ~ N(0, Std), the
/// embedding ~ N(0, EmbeddingStd), residual-output projections additionally scaled by
/// 1/sqrt(2 * depth) (GPT-2 §2.3: each block adds two residual branches), norm gains 1, biases 0.
/// Values are drawn in float64 on the CPU from one seeded generator, in parameter order, then
/// copied: the same seed gives the same model on every device and (up to rounding) every dtype.
/// </summary>
internal static class ParameterInitializer
{
    public static void Initialize(LanguageModel model, InitSpec init, long seed)
    {
        using var generator = new torch.Generator(unchecked((ulong)seed), torch.CPU);
        var residualScale = init.ScaleResidualOutputs ? 1.0 / Math.Sqrt(2.0 * model.Spec.Blocks.Count) : 1.0;
        using var noGrad = torch.no_grad();
        foreach (var p in model.NamedParameters())
        {
            var parameter = p.Parameter;
            switch (p.Role)
            {
                case ParameterRole.Embedding: FillNormal(parameter, init.EmbeddingStd, generator); break;
                case ParameterRole.Head: FillNormal(parameter, init.Std, generator); break;
                case var role when role.MatrixGroup():
                    FillNormal(parameter, p.ResidualOutput ? init.Std * residualScale : init.Std, generator); break;
                case ParameterRole.Norm: parameter.fill_(1.0); break;
                case ParameterRole.Bias: parameter.zero_(); break;
                default: throw new InvalidOperationException($"no initialisation rule for {p.Name} ({p.Role})");
            }
        }
    }

    private static void FillNormal(Parameter parameter, double std, torch.Generator generator)
    {
        using var values = torch.empty(parameter.shape, ScalarType.Float64, torch.CPU).normal_(0, std, generator);
        parameter.copy_(values);
    }
}
