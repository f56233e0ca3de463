using ModelDsl.Core.Vision;

namespace ModelDsl.Runtime.Vision;

/// <summary>
/// A minimal visual contrast pair (I_w, T_w), (I_l, T_l): two scenes differing in exactly the
/// <see cref="Kind"/> attribute, captioned with the same prompt and responses that differ in exactly
/// the matching word. In S-VCO both members are correct pairings; "winner" and "loser" only name
/// the sides (DPO prefers T_w given I_w). The AgainstPrior flags mark members whose colour contradicts
/// the language prior.
/// </summary>
public sealed record ContrastPair(ContrastKind Kind, Scene Winner, Scene Loser, long[] Prompt, long[] WinnerResponse, long[] LoserResponse)
{
    public bool WinnerAgainstPrior => Winner.AgainstPrior;
    public bool LoserAgainstPrior => Loser.AgainstPrior;
    public bool AgainstPrior => WinnerAgainstPrior || LoserAgainstPrior;

    public PromptResponse WinnerText => new(Prompt, WinnerResponse);
    public PromptResponse LoserText => new(Prompt, LoserResponse);
}
