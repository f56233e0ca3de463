using ModelDsl.Core.Training;
using ModelDsl.Core.Vision;
using ModelDsl.Runtime.Optim;
using ModelDsl.Runtime.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Vision;

/// <summary>One step of a vision run: its loss, the global gradient norm before clipping, the mean
/// margins of a preference step (empty for supervised steps), and the divergence guard's objection
/// when it refused the step (nothing was then applied).</summary>
public sealed record VisionStepOutcome(double Loss, double GradNorm, IReadOnlyList<double> Margins, string? Problem);

/// <summary>Reported after every preference step (1 .. TotalSteps): the objective and its mean margins before beta.</summary>
public sealed record PreferenceProgress(long Step, long TotalSteps, double Loss, IReadOnlyList<double> MeanMargins, double LearningRate,
    TimeSpan Elapsed, TimeSpan Eta);

/// <summary>
/// The optimizer steps of a <see cref="VisionRun"/>, over GlobalBatch / MicroBatch micro-batches whose
/// gradients add up to the gradient of the whole batch's loss.
/// </summary>
public static class VisionRunSteps
{
    /// <summary>
    /// Supervised step on the task's training examples of <paramref name="step"/>: the negative
    /// log-likelihood of every response token of the global batch, averaged over those tokens.
    /// </summary>
    public static VisionStepOutcome Supervised(VisionLanguageModel model, IOptimizer optimizer, SceneTask task, TrainingSpec training,
        long step, double learningRateMultiplier, DivergenceGuard guard)
    {
        using var scope = NewDisposeScope();
        var batches = Enumerable.Range(0, training.AccumulationSteps).Select(m => task.TrainImageBatch(step, m, training.MicroBatch)).ToList();
        try
        {
            var tokens = batches.Sum(b => (double)b.Text.LossMask.sum().item<float>());
            // Held for the whole step (see HeldScalars).
            using var tokenCount = tokens.ToScalar();
            model.train();
            optimizer.ZeroGrad();
            var loss = 0.0;
            foreach (var batch in batches)
            {
                using var inner = NewDisposeScope();
                var part = VisionEvaluation.ResponseNll(model, batch).div(tokenCount);
                part.backward();
                loss += part.ToDouble();
            }
            return Finish(optimizer, loss, [], learningRateMultiplier, guard);
        }
        finally
        {
            foreach (var batch in batches) batch.Dispose();
        }
    }

    /// <summary>
    /// Preference step on GlobalBatch training contrast pairs (pair step * GlobalBatch + i): the
    /// objective's mean over the pairs of the policy against the frozen reference.
    /// </summary>
    public static VisionStepOutcome Preference(VisionLanguageModel policy, VisionLanguageModel reference, IOptimizer optimizer, SceneTask task,
        TrainingSpec training, PreferenceObjective objective, long step, double learningRateMultiplier, DivergenceGuard guard)
    {
        ArgumentNullException.ThrowIfNull(objective);
        if (ReferenceEquals(policy, reference)) throw new ArgumentException("the reference must be a separate, frozen model", nameof(reference));
        using var scope = NewDisposeScope();
        var global = training.GlobalBatch;
        var pairs = Enumerable.Range(0, global).Select(i => task.SamplePair(SceneSplit.Train, step * global + i)).ToList();
        optimizer.ZeroGrad();
        var loss = 0.0;
        double[]? margins = null;
        for (var start = 0; start < global; start += training.MicroBatch)
        {
            using var inner = NewDisposeScope();
            var chunk = pairs.Skip(start).Take(training.MicroBatch).ToList();
            var share = (double)chunk.Count / global;
            using var batch = ContrastBatch.From(chunk);
            ContrastLogProbs referenceLogProbs;
            using (torch.no_grad())
            {
                reference.eval();
                referenceLogProbs = batch.LogProbs(reference);
            }
            policy.train();
            var result = Objective(objective, batch.LogProbs(policy), referenceLogProbs);
            using (var weight = share.ToScalar()) result.Loss.mul(weight).backward();
            loss += result.Loss.ToDouble() * share;
            margins ??= new double[result.Margins.Count];
            for (var i = 0; i < margins.Length; i++) margins[i] += result.Margins[i].mean().ToDouble() * share;
        }
        return Finish(optimizer, loss, margins ?? [], learningRateMultiplier, guard);
    }

    /// <summary>The loss and margins of an objective from the six log-probs of policy and reference.</summary>
    public static PreferenceLoss Objective(PreferenceObjective objective, ContrastLogProbs policy, ContrastLogProbs reference) => objective switch
    {
        SvcoSpec svco => PreferenceLosses.Svco(policy, reference, svco),
        TextDpoSpec text => PreferenceLosses.Of(text.ToPreferenceSpec(), policy, reference),
        ImageDpoSpec image => PreferenceLosses.Of(image.ToPreferenceSpec(), policy, reference),
        _ => throw new NotSupportedException($"preference: {objective.GetType().Name} is not a known preference objective"),
    };

    private static VisionStepOutcome Finish(IOptimizer optimizer, double loss, IReadOnlyList<double> margins, double learningRateMultiplier,
        DivergenceGuard guard)
    {
        var measured = GradientNorm.Global(optimizer.Slots);
        if (guard.Assess(loss, measured) is { } problem) return new VisionStepOutcome(loss, measured, margins, problem);
        var norm = optimizer.Step(learningRateMultiplier, Optim.StepContext.None);
        return new VisionStepOutcome(loss, norm, margins, null);
    }
}
