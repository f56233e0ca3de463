using ModelDsl.Core;
using ModelDsl.Core.FineTune;
using ModelDsl.Runtime.Eval;
using ModelDsl.Runtime.Tasks;
using static TorchSharp.torch;
using TaskFactory = ModelDsl.Runtime.Tasks.TaskFactory;
using ModelDsl.Runtime.Model;

namespace ModelDsl.Runtime.FineTune;

/// <summary>Held-out losses after perturbing with one gamma, one per noise seed, and their mean increase over the unperturbed loss.</summary>
public sealed record PerturbationPoint(double Gamma, IReadOnlyList<double> Losses, double MeanLoss, double MeanIncrease);

/// <summary>The unperturbed held-out loss and one point per gamma.</summary>
public sealed record PerturbationSensitivityResult(double BaseLoss, IReadOnlyList<PerturbationPoint> Points);

/// <summary>
/// Perturbation sensitivity (PAPERS.md §6): E_eps[L(theta + gamma eps)] - L(theta) for a list of
/// gamma, the expectation estimated over noise seeds, with the noise of <see cref="WeightPerturbation"/>
/// and L the mean masked validation loss of <see cref="Evaluator.ValidationLoss"/>. The model's
/// weights are restored exactly after every perturbation.
/// </summary>
public static class PerturbationSensitivity
{
    public static PerturbationSensitivityResult Measure(LanguageModel model, ITask task, IReadOnlyList<double> gammas,
        IReadOnlyList<long> noiseSeeds, int batches, int batchSize)
    {
        if (gammas.Count == 0 || noiseSeeds.Count == 0) throw new ArgumentException("at least one gamma and one noise seed are needed");
        var parameters = model.NamedParameters().Select(p => p.Parameter).ToList();
        var saved = parameters.Select(p => p.detach().clone()).ToList();
        try
        {
            var baseLoss = Evaluator.ValidationLoss(model, task, batches, batchSize, model.Device);
            var points = new List<PerturbationPoint>();
            foreach (var gamma in gammas)
            {
                var losses = new List<double>();
                foreach (var seed in noiseSeeds)
                {
                    WeightPerturbation.Add(model, gamma, seed);
                    losses.Add(Evaluator.ValidationLoss(model, task, batches, batchSize, model.Device));
                    Restore(parameters, saved);
                }
                points.Add(new PerturbationPoint(gamma, losses, losses.Average(), losses.Average() - baseLoss));
            }
            return new PerturbationSensitivityResult(baseLoss, points);
        }
        finally
        {
            Restore(parameters, saved);
            foreach (var copy in saved) copy.Dispose();
        }
    }

    /// <summary>Loads the spec's model from the perturbation's source and measures it on the spec's task (validation batches of training.eval).</summary>
    public static PerturbationSensitivityResult Measure(ExperimentSpec spec, PerturbationSpec perturbation, Device? device = null)
    {
        spec.EnsureValid();
        perturbation.EnsureValid();
        var dtype = spec.Training.Precision == ModelDsl.Core.Training.Precision.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        using var model = ModelLoader.Load(perturbation.Source, spec.Model, dtype, device);
        var task = TaskFactory.Create(spec.Task, spec.Training.Seed);
        return Measure(model, task, perturbation.Gammas, perturbation.NoiseSeeds, spec.Training.Eval.Batches, spec.Training.MicroBatch);
    }

    private static void Restore(IReadOnlyList<TorchSharp.Modules.Parameter> parameters, IReadOnlyList<Tensor> saved)
    {
        using var noGrad = no_grad();
        for (var i = 0; i < parameters.Count; i++) parameters[i].copy_(saved[i]);
    }
}
