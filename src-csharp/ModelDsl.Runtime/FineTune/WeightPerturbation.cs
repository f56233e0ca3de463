using ModelDsl.Core.Model;
using TorchSharp;
using static ModelDsl.Runtime.Layers.HeldScalars;
using static TorchSharp.torch;
using ModelDsl.Runtime.Model;
using ModelDsl.Runtime.Compile;

namespace ModelDsl.Runtime.FineTune;

/// <summary>
/// Gaussian weight perturbation theta + gamma * eps (PAPERS.md §6, catastrophic overtraining).
/// Convention for the noise scale: eps ~ N(0, sigma^2) elementwise with sigma the tensor's own
/// initialisation standard deviation as <see cref="InitSpec"/> draws it: EmbeddingStd for the
/// embedding, Std for the head and hidden matrices, Std / sqrt(2 depth) for residual-output
/// projections when ScaleResidualOutputs. Norm gains and biases are initialised to constants
/// (sigma = 0) and are not perturbed; buffers are never perturbed. The noise is drawn in float64 on
/// the CPU from one generator seeded with the noise seed, tensor by tensor in parameter order, so
/// a seed gives the same noise on every device.
/// </summary>
public static class WeightPerturbation
{
    /// <summary>sigma of every parameter, by name, in parameter order (0 for those left unperturbed).</summary>
    public static IReadOnlyList<(string Name, double Sigma)> NoiseScales(LanguageModel model)
    {
        return model.NamedParameters()
            .Select(p => (p.Name, ParameterInitializer.InitialStd(p, model.Spec.Init, model.Spec.Blocks.Count) ?? 0.0)).ToList();
    }

    /// <summary>The noise gamma * eps for every perturbed parameter (float64, CPU), as <see cref="Add"/> adds it.</summary>
    public static IReadOnlyList<(string Name, Tensor Noise)> Noise(LanguageModel model, double gamma, long noiseSeed)
    {
        if (!double.IsFinite(gamma) || gamma < 0) throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "gamma must be zero or positive");
        using var generator = new torch.Generator(unchecked((ulong)noiseSeed), CPU);
        var parameters = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter, StringComparer.Ordinal);
        var noise = new List<(string, Tensor)>();
        // gamma held over the loop (see HeldScalars).
        using var scale = gamma.ToScalar();
        foreach (var (name, sigma) in NoiseScales(model))
        {
            if (sigma == 0) continue;
            var eps = empty(parameters[name].shape, ScalarType.Float64, CPU).normal_(0, sigma, generator);
            noise.Add((name, eps.mul_(scale)));
        }
        return noise;
    }

    /// <summary>Adds gamma * eps to the model's parameters in place.</summary>
    public static void Add(LanguageModel model, double gamma, long noiseSeed)
    {
        var parameters = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter, StringComparer.Ordinal);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var (name, noise) in Noise(model, gamma, noiseSeed))
        {
            var parameter = parameters[name];
            // Added in float64 and rounded once to the parameter's type.
            parameter.copy_(parameter.to(ScalarType.Float64, copy: true).to(CPU).add_(noise, One));
        }
    }
}
