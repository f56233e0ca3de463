namespace ModelDsl.Runtime.Vision;

/// <summary>
/// The six summed response log-probs of one contrast pair under a model, as plain numbers:
/// log p(Tw|Iw), log p(Tw|0), log p(Tw|Il), log p(Tl|Il), log p(Tl|0), log p(Tl|Iw).
/// </summary>
public readonly record struct ContrastScores(
    double WinnerWithWinnerImage, double WinnerWithoutImage, double WinnerWithLoserImage,
    double LoserWithLoserImage, double LoserWithoutImage, double LoserWithWinnerImage)
{
    /// <summary>Given I_w, the model prefers T_w to T_l.</summary>
    public bool WinnerImageRight => WinnerWithWinnerImage > LoserWithWinnerImage;
    /// <summary>Given I_l, the model prefers T_l to T_w.</summary>
    public bool LoserImageRight => LoserWithLoserImage > WinnerWithLoserImage;

    public static ContrastScores operator -(ContrastScores a, ContrastScores b) => new(
        a.WinnerWithWinnerImage - b.WinnerWithWinnerImage, a.WinnerWithoutImage - b.WinnerWithoutImage,
        a.WinnerWithLoserImage - b.WinnerWithLoserImage, a.LoserWithLoserImage - b.LoserWithLoserImage,
        a.LoserWithoutImage - b.LoserWithoutImage, a.LoserWithWinnerImage - b.LoserWithWinnerImage);

    /// <summary>The four S-VCO margins of these values (pass policy minus reference for the paper's).</summary>
    public (double WinnerAttend, double WinnerReject, double LoserAttend, double LoserReject) Margins =>
        (WinnerWithWinnerImage - WinnerWithoutImage, WinnerWithoutImage - WinnerWithLoserImage,
         LoserWithLoserImage - LoserWithoutImage, LoserWithoutImage - LoserWithWinnerImage);
}
