using ModelDsl.Core.Generation;
using ModelDsl.Core.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Vision;

/// <summary>What a vision run's evaluation measured on held-out scenes.</summary>
/// <param name="ValidationLoss">Mean negative log-likelihood per response token, each text with its image.</param>
/// <param name="TextOnlyLoss">The same texts without images: the language prior p(T|0).</param>
/// <param name="QuestionAccuracy">Held-out questions answered exactly (greedy, with the image; answer word and &lt;eos&gt;).</param>
/// <param name="CaptionAccuracy">Held-out captions reproduced exactly (greedy, with the image).</param>
public sealed record VisionEvalResult(double ValidationLoss, double TextOnlyLoss, double? QuestionAccuracy, double? CaptionAccuracy);

/// <summary>The held-out evaluation of a vision experiment, without autograd.</summary>
public static class VisionEvaluation
{
    /// <summary>Losses over training.eval.batches held-out micro-batches; greedy accuracies over training.eval.problems questions and captions.</summary>
    public static VisionEvalResult Evaluate(VisionLanguageModel model, SceneTask task, TrainingSpec training)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(training);
        model.eval();
        var withImages = Loss(model, task, training.Eval.Batches, training.MicroBatch, withImages: true);
        var textOnly = Loss(model, task, training.Eval.Batches, training.MicroBatch, withImages: false);
        double? questions = null, captions = null;
        if (training.Eval.Problems > 0)
        {
            questions = Accuracy(model, task.EvalQuestions(training.Eval.Problems), training.MicroBatch);
            captions = Accuracy(model, task.EvalCaptions(training.Eval.Problems), training.MicroBatch);
        }
        return new VisionEvalResult(withImages, textOnly, questions, captions);
    }

    /// <summary>Mean negative log-likelihood per response token over held-out batches.</summary>
    public static double Loss(VisionLanguageModel model, SceneTask task, int batches, int batchSize, bool withImages)
    {
        double total = 0, tokens = 0;
        using var noGrad = torch.no_grad();
        for (var index = 0; index < batches; index++)
        {
            using var scope = NewDisposeScope();
            using var batch = task.ValidationImageBatch(index, batchSize, withImages);
            total += ResponseNll(model, batch).to(ScalarType.Float64).item<double>();
            tokens += batch.Text.LossMask.sum().item<float>();
        }
        return total / tokens;
    }

    /// <summary>The summed negative log-likelihood of the batch's response tokens (differentiable).</summary>
    public static Tensor ResponseNll(VisionLanguageModel model, SceneBatch batch)
    {
        using var scope = NewDisposeScope();
        var logits = model.Run(batch.Images, batch.Text.Inputs.to(model.Device)).Logits;
        var logProbs = logits.log_softmax(-1).gather(-1, batch.Text.Targets.to(model.Device).unsqueeze(-1)).squeeze(-1);
        return (-(logProbs * batch.Text.LossMask.to(logProbs.dtype, model.Device)).sum()).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Share of examples whose greedy completion (with the image, KV-cached) starts with the reference
    /// response. Examples are generated in batches of equal prompt length.
    /// </summary>
    public static double Accuracy(VisionLanguageModel model, IReadOnlyList<SceneExample> examples, int batchSize)
    {
        if (examples.Count == 0) return double.NaN;
        var correct = 0;
        var greedy = new SamplingSpec { Temperature = 0 };
        using var noGrad = torch.no_grad();
        foreach (var group in examples.GroupBy(e => (e.Text.Prompt.Length, e.Text.Response.Length)))
        {
            var members = group.ToList();
            for (var start = 0; start < members.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                var chunk = members.Skip(start).Take(batchSize).ToList();
                var (promptLength, responseLength) = group.Key;
                long[] shape = [chunk.Count, promptLength];
                var prompts = tensor(chunk.SelectMany(e => e.Text.Prompt).ToArray(), shape, ScalarType.Int64).to(model.Device);
                var images = SceneRenderer.ToTensor(chunk.Select(e => e.Scene).ToList());
                var generated = VisionGenerator.Generate(model, images, prompts, responseLength, greedy)
                    .narrow(1, promptLength, responseLength).cpu().data<long>().ToArray();
                for (var i = 0; i < chunk.Count; i++)
                    if (generated.AsSpan(i * responseLength, responseLength).SequenceEqual(chunk[i].Text.Response)) correct++;
            }
        }
        return (double)correct / examples.Count;
    }
}
