using static TorchSharp.torch;

namespace ModelDsl.Runtime.Vision;

/// <summary>
/// The six summed response log-probs [B] of a batch of contrast pairs under one model: each text
/// with its own image, with no image (the null image 0), and with the other pair member's image.
/// </summary>
public sealed record ContrastLogProbs(
    Tensor WinnerWithWinnerImage, Tensor WinnerWithoutImage, Tensor WinnerWithLoserImage,
    Tensor LoserWithLoserImage, Tensor LoserWithoutImage, Tensor LoserWithWinnerImage) : IDisposable
{
    public IEnumerable<Tensor> All =>
        [WinnerWithWinnerImage, WinnerWithoutImage, WinnerWithLoserImage, LoserWithLoserImage, LoserWithoutImage, LoserWithWinnerImage];

    /// <summary>Computes the six quantities for pairs (I_w, T_w), (I_l, T_l): each image is encoded once, then six decoder passes.</summary>
    public static ContrastLogProbs Compute(VisionLanguageModel model, Tensor winnerImages, Tensor loserImages,
        ResponseBatch winnerTexts, ResponseBatch loserTexts)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var winnerPrefix = model.Prefix(winnerImages);
        using var loserPrefix = model.Prefix(loserImages);
        return new ContrastLogProbs(
            ResponseLogProbs.SumWithPrefix(model, winnerPrefix, winnerTexts),
            ResponseLogProbs.SumWithPrefix(model, null, winnerTexts),
            ResponseLogProbs.SumWithPrefix(model, loserPrefix, winnerTexts),
            ResponseLogProbs.SumWithPrefix(model, loserPrefix, loserTexts),
            ResponseLogProbs.SumWithPrefix(model, null, loserTexts),
            ResponseLogProbs.SumWithPrefix(model, winnerPrefix, loserTexts));
    }

    /// <summary>Element-wise this minus the reference's: the implicit rewards l(T|I) = log pi - log pi_ref.</summary>
    public ContrastLogProbs Minus(ContrastLogProbs reference) => new(
        WinnerWithWinnerImage - reference.WinnerWithWinnerImage, WinnerWithoutImage - reference.WinnerWithoutImage,
        WinnerWithLoserImage - reference.WinnerWithLoserImage, LoserWithLoserImage - reference.LoserWithLoserImage,
        LoserWithoutImage - reference.LoserWithoutImage, LoserWithWinnerImage - reference.LoserWithWinnerImage);

    public void Dispose()
    {
        foreach (var t in All) t.Dispose();
    }
}
