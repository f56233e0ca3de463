using ModelDsl.Core.FineTune;
using ModelDsl.Runtime.Compile;
using ModelDsl.Runtime.FineTune;
using ModelDsl.Runtime.Tasks;
using static TorchSharp.torch;
using TaskFactory = ModelDsl.Runtime.Tasks.TaskFactory;
using static ModelDsl.Runtime.Tests.FineTune.FineTuneFixtures;
using ModelDsl.Runtime.Parameters;

namespace ModelDsl.Runtime.Tests.FineTune;

public sealed class WeightPerturbationTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("perturbation-").FullName;
    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void NoiseScalesFollowTheInitialisation()
    {
        var spec = SmallModel() with { TiedHead = false };
        using var model = ModelCompiler.Build(spec, seed: 1);
        var scales = WeightPerturbation.NoiseScales(model).ToDictionary(s => s.Name, s => s.Sigma);
        Assert.Equal(spec.Init.EmbeddingStd, scales["embedding.weight"]);
        Assert.Equal(spec.Init.Std, scales["head.weight"]);
        var scaled = spec.Init.Std / Math.Sqrt(2 * spec.Blocks.Count);
        var residualOutputs = 0;
        foreach (var p in model.NamedParameters())
        {
            if (p.Role == ParameterRole.HiddenMatrix)
            {
                // Each hidden matrix has the init's own std: Std, or Std / sqrt(2 depth) for residual outputs.
                Assert.True(scales[p.Name] == spec.Init.Std || scales[p.Name] == scaled, $"{p.Name}: {scales[p.Name]}");
                using var std = p.Parameter.std();
                Assert.True(Math.Abs(std.item<float>() - scales[p.Name]) < 0.25 * scales[p.Name], $"{p.Name}: drawn std {std.item<float>()} vs {scales[p.Name]}");
                if (scales[p.Name] == scaled) residualOutputs++;
            }
            if (p.Role is ParameterRole.Norm or ParameterRole.Bias) Assert.Equal(0.0, scales[p.Name]);
        }
        Assert.Equal(2 * spec.Blocks.Count, residualOutputs);
    }

    [Fact]
    public void NoiseIsDeterministicPerSeedAndLinearInGamma()
    {
        using var model = ModelCompiler.Build(SmallModel(), seed: 1);
        double[] Flat(double gamma, long seed) => WeightPerturbation.Noise(model, gamma, seed).SelectMany(n => n.Noise.data<double>().ToArray()).ToArray();
        Assert.Equal(Flat(0.1, 5), Flat(0.1, 5));
        Assert.NotEqual(Flat(0.1, 5), Flat(0.1, 6));
        var small = Flat(0.1, 5);
        var large = Flat(0.3, 5);
        for (var i = 0; i < small.Length; i++) Assert.Equal(3 * small[i], large[i], 1e-15);
    }

    [Fact]
    public void NoiseNormMatchesTheClosedFormAndGrowsWithGamma()
    {
        // E ||gamma eps||^2 = gamma^2 sum_t n_t sigma_t^2; the empirical value over ~1e3 elements
        // lies within a few relative standard deviations sqrt(2 / N_eff) of it.
        using var model = ModelCompiler.Build(SmallModel() with { Width = 32 }, seed: 1);
        var sizes = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.numel());
        var expectedPerGammaSquared = WeightPerturbation.NoiseScales(model).Sum(s => sizes[s.Name] * s.Sigma * s.Sigma);
        var previous = 0.0;
        foreach (var gamma in new[] { 0.0, 0.5, 1.0, 2.0 })
        {
            var meanSquaredNorm = Enumerable.Range(0, 4).Average(seed =>
                WeightPerturbation.Noise(model, gamma, seed).Sum(n => n.Noise.square().sum().item<double>()));
            var expected = gamma * gamma * expectedPerGammaSquared;
            Assert.True(Math.Abs(meanSquaredNorm - expected) <= 0.05 * expected, $"gamma {gamma}: {meanSquaredNorm} vs {expected}");
            Assert.True(meanSquaredNorm >= previous);
            previous = meanSquaredNorm;
        }
        Assert.True(previous > 0);
    }

    [Fact]
    public void SensitivityIsZeroAtGammaZeroAndRestoresTheWeights()
    {
        var spec = Experiment();
        var run = Path.Combine(directory, "run");
        SaveRun(run, spec, seed: 1);
        using var model = ModelLoader.Load(new RunSource { Path = run }, spec.Model);
        var before = Weights(model);
        var task = TaskFactory.Create(spec.Task, spec.Training.Seed);
        var result = PerturbationSensitivity.Measure(model, task, [0.0, 1.0, 4.0], [0, 1], batches: 2, batchSize: 8);
        Assert.Equal(before, Weights(model));
        Assert.All(result.Points[0].Losses, l => Assert.Equal(result.BaseLoss, l));
        Assert.Equal(0.0, result.Points[0].MeanIncrease);
        Assert.NotEqual(result.Points[1].Losses[0], result.Points[1].Losses[1]);
        Assert.True(result.Points[2].MeanIncrease > 0, $"gamma 4 raised the loss by {result.Points[2].MeanIncrease}");

        var fromSpec = PerturbationSensitivity.Measure(spec, new PerturbationSpec
        {
            Source = new RunSource { Path = run }, Gammas = new[] { 0.0, 1.0, 4.0 }, NoiseSeeds = new[] { 0L, 1L },
        });
        Assert.Equal(result.BaseLoss, fromSpec.BaseLoss);
        Assert.Equal(result.Points.Select(p => p.MeanLoss), fromSpec.Points.Select(p => p.MeanLoss));

        var plot = Path.Combine(directory, "plots", "sensitivity.png");
        PerturbationPlot.Save(plot, [("seed 1", result), ("again", fromSpec)]);
        Assert.True(new FileInfo(plot).Length > 1000);
    }

    [Fact]
    public void PerturbedSourceLoadsTheSameWeightsAsAddingTheNoise()
    {
        var spec = Experiment();
        var run = Path.Combine(directory, "run");
        SaveRun(run, spec, seed: 1);
        using var perturbed = ModelLoader.Load(new PerturbedSource { Source = new RunSource { Path = run }, Gamma = 0.5, NoiseSeed = 9 }, spec.Model);
        using var manual = ModelLoader.Load(new RunSource { Path = run }, spec.Model);
        var clean = Weights(manual);
        WeightPerturbation.Add(manual, 0.5, 9);
        Assert.Equal(Weights(manual), Weights(perturbed));
        Assert.NotEqual(clean, Weights(perturbed));
    }
}
