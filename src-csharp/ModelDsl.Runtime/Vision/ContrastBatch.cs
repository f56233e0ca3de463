using static TorchSharp.torch;

namespace ModelDsl.Runtime.Vision;

/// <summary>A batch of contrast pairs as tensors: both images and both texts.</summary>
public sealed class ContrastBatch : IDisposable
{
    private ContrastBatch(Tensor winnerImages, Tensor loserImages, ResponseBatch winnerTexts, ResponseBatch loserTexts)
    {
        WinnerImages = winnerImages;
        LoserImages = loserImages;
        WinnerTexts = winnerTexts;
        LoserTexts = loserTexts;
    }

    public Tensor WinnerImages { get; }
    public Tensor LoserImages { get; }
    public ResponseBatch WinnerTexts { get; }
    public ResponseBatch LoserTexts { get; }

    public static ContrastBatch From(IReadOnlyList<ContrastPair> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        if (pairs.Count == 0) throw new ArgumentException("a batch needs at least one pair", nameof(pairs));
        return new ContrastBatch(
            SceneRenderer.ToTensor(pairs.Select(p => p.Winner).ToList()),
            SceneRenderer.ToTensor(pairs.Select(p => p.Loser).ToList()),
            ResponseBatch.From(pairs.Select(p => p.WinnerText).ToList()),
            ResponseBatch.From(pairs.Select(p => p.LoserText).ToList()));
    }

    /// <summary>The six summed response log-probs under a model (differentiable unless the caller disables autograd).</summary>
    public ContrastLogProbs LogProbs(VisionLanguageModel model) =>
        ContrastLogProbs.Compute(model, WinnerImages, LoserImages, WinnerTexts, LoserTexts);

    public void Dispose()
    {
        WinnerImages.Dispose();
        LoserImages.Dispose();
        WinnerTexts.Dispose();
        LoserTexts.Dispose();
    }
}
