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
public static class ParameterInitializer
{
    public static void Initialize(LanguageModel model, InitSpec init, long seed)
    {
        using var generator = new torch.Generator(unchecked((ulong)seed), torch.CPU);
        using var noGrad = torch.no_grad();
        foreach (var p in model.NamedParameters())
        {
            if (InitialStd(p, init, model.Spec.Blocks.Count) is { } std) FillNormal(p.Parameter, std, generator);
            else if (p.Role == ParameterRole.Norm) p.Parameter.fill_(1.0);
            else if (p.Role == ParameterRole.Bias) p.Parameter.zero_();
            else throw new InvalidOperationException($"no initialisation rule for {p.Name} ({p.Role})");
        }
    }

    /// <summary>The standard deviation a parameter is drawn with, or null for those initialised to a
    /// constant (norm gains 1, biases 0).</summary>
    public static double? InitialStd(NamedParameter p, InitSpec init, int depth) => p.Role switch
    {
        ParameterRole.Embedding => init.EmbeddingStd,
        ParameterRole.Head => init.Std,
        var role when role.MatrixGroup() => p.ResidualOutput && init.ScaleResidualOutputs ? init.Std * (1.0 / Math.Sqrt(2.0 * depth)) : init.Std,   // GPT-2 §2.3
        _ => null,
    };

    private static void FillNormal(Parameter parameter, double std, torch.Generator generator)
    {
        using var values = torch.empty(parameter.shape, ScalarType.Float64, torch.CPU).normal_(0, std, generator);
        parameter.copy_(values);
    }
}
