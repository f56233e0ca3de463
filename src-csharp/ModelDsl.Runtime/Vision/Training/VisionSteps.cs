using ModelDsl.Core.Validation;
using ModelDsl.Core.Vision;
using ModelDsl.Runtime.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Vision;

/// <summary>What one preference step measured: the loss and the mean of each margin (before beta) over the batch.</summary>
public sealed record PreferenceStepResult(double Loss, IReadOnlyList<double> MeanMargins, double GradientNorm);

/// <summary>
/// One optimizer step of each fine-tuning objective on a <see cref="VisionLanguageModel"/>. The
/// optimizer must hold the model's trainable parameters (<see cref="VisionLanguageModel.NamedParameters"/>).
/// </summary>
public static class VisionSteps
{
    /// <summary>
    /// Supervised fine-tuning: mean negative log-likelihood per response token of the texts, each
    /// conditioned on its scene's image (scenes null: text only). Returns the loss before the step.
    /// </summary>
    public static double Sft(VisionLanguageModel model, IOptimizer optimizer, IReadOnlyList<PromptResponse> texts,
        IReadOnlyList<Scene>? scenes, double learningRateMultiplier = 1.0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(texts);
        if (scenes is not null && scenes.Count != texts.Count) throw new ArgumentException($"{scenes.Count} scenes for {texts.Count} texts");
        using var scope = NewDisposeScope();
        model.train();
        optimizer.ZeroGrad();
        var batch = ResponseBatch.From(texts);
        var images = scenes is null ? null : SceneRenderer.ToTensor(scenes);
        // The float token count as a Scalar held past the division (see HeldScalars).
        using var tokens = batch.Mask.sum().item<float>().ToScalar();
        var loss = (-ResponseLogProbs.Sum(model, images, batch).sum()).div(tokens);
        loss.backward();
        optimizer.Step(learningRateMultiplier, StepContext.None);
        return loss.ToDouble();
    }

    /// <summary>One S-VCO step on contrast pairs against a frozen reference model.</summary>
    public static PreferenceStepResult Svco(VisionLanguageModel policy, VisionLanguageModel reference, IOptimizer optimizer,
        IReadOnlyList<ContrastPair> pairs, SvcoSpec spec, double learningRateMultiplier = 1.0) =>
        Step(policy, reference, optimizer, pairs, learningRateMultiplier, (p, r) => PreferenceLosses.Svco(p, r, spec));

    /// <summary>One DPO-style step (text DPO with the image fixed, or image-only preference).</summary>
    public static PreferenceStepResult Preference(VisionLanguageModel policy, VisionLanguageModel reference, IOptimizer optimizer,
        IReadOnlyList<ContrastPair> pairs, PreferenceSpec spec, double learningRateMultiplier = 1.0)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var v = new Validator();
        spec.Validate(v, "preference");
        v.ThrowIfAny();
        return Step(policy, reference, optimizer, pairs, learningRateMultiplier, (p, r) => PreferenceLosses.Of(spec, p, r));
    }

    private static PreferenceStepResult Step(VisionLanguageModel policy, VisionLanguageModel reference, IOptimizer optimizer,
        IReadOnlyList<ContrastPair> pairs, double learningRateMultiplier, Func<ContrastLogProbs, ContrastLogProbs, PreferenceLoss> objective)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(optimizer);
        if (ReferenceEquals(policy, reference)) throw new ArgumentException("the reference must be a separate, frozen model", nameof(reference));
        using var scope = NewDisposeScope();
        using var batch = ContrastBatch.From(pairs);
        ContrastLogProbs referenceLogProbs;
        using (torch.no_grad())
        {
            reference.eval();
            referenceLogProbs = batch.LogProbs(reference);
        }
        policy.train();
        optimizer.ZeroGrad();
        var result = objective(batch.LogProbs(policy), referenceLogProbs);
        result.Loss.backward();
        var norm = optimizer.Step(learningRateMultiplier, StepContext.None);
        return new PreferenceStepResult(result.Loss.ToDouble(), result.Margins.Select(m => m.mean().ToDouble()).ToList(), norm);
    }

    /// <summary>A copy of the model with the same weights whose parameters take no gradients: the frozen reference.</summary>
    public static VisionLanguageModel FrozenCopy(VisionLanguageModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var copy = VisionModelCompiler.Build(model.Spec, model.Dtype, model.Device);
        copy.CopyWeightsFrom(model);
        foreach (var p in copy.parameters()) p.requires_grad = false;
        copy.eval();
        return copy;
    }
}
