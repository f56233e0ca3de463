using ModelDsl.Core.Training;
using ModelDsl.Core.Vision;
using ModelDsl.Runtime.Optim;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Vision;

/// <summary>Sizes of a scene fine-tuning run.</summary>
public sealed record VisionFineTuneSettings
{
    public int SftSteps { get; init; } = 200;
    public int PreferenceSteps { get; init; } = 50;
    public int BatchSize { get; init; } = 16;
    /// <summary>Every n-th SFT step trains on the captions without their images (0: never), so the
    /// model also learns the text-only distribution p(T|0) that S-VCO contrasts against.</summary>
    public int TextOnlyEvery { get; init; } = 4;
    public OptimizerSpec SftOptimizer { get; init; } = new AdamW { Lr = 3e-3, WeightDecay = 0 };
    public OptimizerSpec PreferenceOptimizer { get; init; } = new AdamW { Lr = 1e-3, WeightDecay = 0 };
    public double? ClipGradNorm { get; init; } = 1.0;
    /// <summary>Held-out contrast pairs and captions used for the metrics.</summary>
    public int EvaluationPairs { get; init; } = 128;

    public void Check()
    {
        if (SftSteps < 0 || PreferenceSteps < 0) throw new ArgumentException("step counts must be zero or positive");
        if (BatchSize < 1 || EvaluationPairs < 1) throw new ArgumentException("batch size and evaluation pairs must be positive");
        if (TextOnlyEvery < 0) throw new ArgumentException("textOnlyEvery must be zero or positive");
        ArgumentNullException.ThrowIfNull(SftOptimizer);
        ArgumentNullException.ThrowIfNull(PreferenceOptimizer);
    }
}

/// <summary>What a preference phase changed, measured on held-out pairs and captions.</summary>
public sealed record PreferenceReport(
    ContrastMetrics Before, ContrastMetrics After, double HeldOutTextLossBefore, double HeldOutTextLossAfter,
    IReadOnlyList<PreferenceStepResult> Steps);

/// <summary>
/// The scene experiment's two phases: supervised captioning from scratch, then preference steps
/// (S-VCO, text DPO or image DPO) from the captioning model with a frozen copy of it as reference.
/// </summary>
public static class VisionFineTuning
{
    /// <summary>Builds a model from <paramref name="seed"/> and trains it on training-split captions; returns it and the per-step losses.</summary>
    public static (VisionLanguageModel Model, IReadOnlyList<double> Losses) Sft(VisionLanguageSpec spec, SceneTask task,
        VisionFineTuneSettings settings, long seed)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Check();
        var model = VisionModelCompiler.Build(spec, ScalarType.Float32, seed: seed);
        using var optimizer = OptimizerFactory.Create(settings.SftOptimizer, model.NamedParameters(), settings.ClipGradNorm);
        var losses = new List<double>();
        for (var step = 0; step < settings.SftSteps; step++)
        {
            var examples = Enumerable.Range(0, settings.BatchSize)
                .Select(i => task.SampleCaption(SceneSplit.Train, (long)step * settings.BatchSize + i)).ToList();
            var textOnly = settings.TextOnlyEvery > 0 && step % settings.TextOnlyEvery == settings.TextOnlyEvery - 1;
            losses.Add(VisionSteps.Sft(model, optimizer, examples.Select(e => e.Text).ToList(),
                textOnly ? null : examples.Select(e => e.Scene).ToList()));
        }
        return (model, losses);
    }

    /// <summary>S-VCO from <paramref name="model"/> (trained in place) against a frozen copy of it.</summary>
    public static PreferenceReport Svco(VisionLanguageModel model, SceneTask task, VisionFineTuneSettings settings, SvcoSpec spec) =>
        Run(model, task, settings, (policy, reference, optimizer, pairs) => VisionSteps.Svco(policy, reference, optimizer, pairs, spec));

    /// <summary>Text DPO or image DPO from <paramref name="model"/> (trained in place) against a frozen copy of it.</summary>
    public static PreferenceReport Preference(VisionLanguageModel model, SceneTask task, VisionFineTuneSettings settings, PreferenceSpec spec) =>
        Run(model, task, settings, (policy, reference, optimizer, pairs) => VisionSteps.Preference(policy, reference, optimizer, pairs, spec));

    private static PreferenceReport Run(VisionLanguageModel model, SceneTask task, VisionFineTuneSettings settings,
        Func<VisionLanguageModel, VisionLanguageModel, IOptimizer, IReadOnlyList<ContrastPair>, PreferenceStepResult> step)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Check();
        using var reference = VisionSteps.FrozenCopy(model);
        var evaluation = Enumerable.Range(0, settings.EvaluationPairs).Select(i => task.SamplePair(SceneSplit.HeldOut, i)).ToList();
        var heldOutTexts = Enumerable.Range(0, settings.EvaluationPairs).Select(i => task.SampleCaption(SceneSplit.HeldOut, i).Text).ToList();
        model.eval();
        var before = VisionEvaluator.Evaluate(model, evaluation, reference);
        var textBefore = VisionEvaluator.ResponseLoss(model, heldOutTexts);
        using var optimizer = OptimizerFactory.Create(settings.PreferenceOptimizer, model.NamedParameters(), settings.ClipGradNorm);
        var steps = new List<PreferenceStepResult>();
        for (var s = 0; s < settings.PreferenceSteps; s++)
        {
            var pairs = Enumerable.Range(0, settings.BatchSize).Select(i => task.SamplePair(SceneSplit.Train, (long)s * settings.BatchSize + i)).ToList();
            steps.Add(step(model, reference, optimizer, pairs));
        }
        model.eval();
        return new PreferenceReport(before, VisionEvaluator.Evaluate(model, evaluation, reference), textBefore,
            VisionEvaluator.ResponseLoss(model, heldOutTexts), steps);
    }
}
