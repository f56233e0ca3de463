using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Vision;

/// <summary>Scores a model on contrast pairs and texts, without autograd, in batches.</summary>
public static class VisionEvaluator
{
    /// <summary>The six log-probs of every pair (all pairs must share one text length, as caption pairs do).</summary>
    public static IReadOnlyList<ContrastScores> Score(VisionLanguageModel model, IReadOnlyList<ContrastPair> pairs, int batchSize = 64)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(pairs);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "must be positive");
        var result = new List<ContrastScores>(pairs.Count);
        using var noGrad = torch.no_grad();
        for (var start = 0; start < pairs.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var chunk = pairs.Skip(start).Take(batchSize).ToList();
            var values = ContrastBatch.From(chunk).LogProbs(model);
            var columns = values.All.Select(t => t.to(ScalarType.Float64).data<double>().ToArray()).ToArray();
            for (var i = 0; i < chunk.Count; i++)
                result.Add(new ContrastScores(columns[0][i], columns[1][i], columns[2][i], columns[3][i], columns[4][i], columns[5][i]));
        }
        return result;
    }

    /// <summary>Metrics of a model on pairs; margins relative to <paramref name="reference"/> when given.</summary>
    public static ContrastMetrics Evaluate(VisionLanguageModel model, IReadOnlyList<ContrastPair> pairs,
        VisionLanguageModel? reference = null, int batchSize = 64) =>
        ContrastMetrics.From(Score(model, pairs, batchSize), pairs, reference is null ? null : Score(reference, pairs, batchSize));

    /// <summary>
    /// Mean negative log-likelihood per response token of the texts, each with its image (or with
    /// none when <paramref name="scenes"/> is null: the text-only loss).
    /// </summary>
    public static double ResponseLoss(VisionLanguageModel model, IReadOnlyList<PromptResponse> texts, IReadOnlyList<Scene>? scenes = null, int batchSize = 64)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(texts);
        if (scenes is not null && scenes.Count != texts.Count) throw new ArgumentException($"{scenes.Count} scenes for {texts.Count} texts");
        double total = 0, tokens = 0;
        using var noGrad = torch.no_grad();
        for (var start = 0; start < texts.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var chunk = texts.Skip(start).Take(batchSize).ToList();
            using var batch = ResponseBatch.From(chunk);
            var images = scenes is null ? null : SceneRenderer.ToTensor(scenes.Skip(start).Take(batchSize).ToList());
            total -= ResponseLogProbs.Sum(model, images, batch).sum().to(ScalarType.Float64).item<double>();
            tokens += batch.Mask.sum().item<float>();
        }
        return total / tokens;
    }
}
