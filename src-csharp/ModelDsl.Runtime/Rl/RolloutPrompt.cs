using ModelDsl.Runtime.Tasks;

namespace ModelDsl.Runtime.Rl;

/// <summary>A problem as the policy sees it: its prompt tokens, which carry a hint of
/// <paramref name="HintTokens"/> reference tokens when HintTokens > 0.</summary>
public sealed record RolloutPrompt(Problem Problem, long[] Tokens, int HintTokens = 0)
{
    /// <summary>The problem's own prompt, without a hint.</summary>
    public static RolloutPrompt Plain(Problem problem) => new(problem, problem.Prompt);
}
