using ModelDsl.Runtime.Tasks;

namespace ModelDsl.Runtime.Rl;

/// <summary>How one completion scored: the verifier's verdict on the final answer, the format check and the reward.</summary>
public readonly record struct CompletionScore(bool Correct, bool WellFormed, double Reward);

/// <summary>Scores completions. <paramref name="answer"/> holds the generated tokens before the stop
/// token (all of them when there was none); <paramref name="stopped"/> says whether it was emitted.</summary>
public interface IRewardFunction
{
    CompletionScore Score(Problem problem, ReadOnlySpan<long> answer, bool stopped);
}
