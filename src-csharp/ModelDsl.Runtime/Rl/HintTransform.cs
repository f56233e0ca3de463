using ModelDsl.Core.Rl;
using ModelDsl.Runtime.Tasks;

namespace ModelDsl.Runtime.Rl;

/// <summary>
/// QuestA's hints (arXiv 2507.13266; PAPERS.md §2: <c>problem + "## Hint." + solution[:p]</c>) on token
/// tasks. The hint marker H is one extra vocabulary id, the first past the task's vocabulary
/// (<see cref="MarkerFor"/>), so a policy trained with hints has Vocab = task vocabulary + 1. A hinted
/// prompt is <c>prompt, H, prefix, last</c>: the whole problem, the marker, the first
/// floor(p * length) tokens of the reference solution, and then the prompt's last token again (the '='
/// that opens the answer in the arithmetic and parity tasks), so that the answer starts after the same
/// token as on an un-hinted prompt and the policy writes the whole solution, as in QuestA. The problem
/// itself is never altered. Evaluation prompts never carry a hint (<see cref="EvaluationPrompt"/>).
/// </summary>
public sealed class HintTransform
{
    private readonly Func<Problem, long[]> solution;

    /// <param name="solution">The reference solution the hint is cut from; the problem's reference completion when null.</param>
    public HintTransform(HintSpec spec, long markerToken, Func<Problem, long[]>? solution = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var v = new Core.Validation.Validator();
        spec.Validate(v, "hints");
        v.ThrowIfAny();
        if (markerToken < 0) throw new ArgumentOutOfRangeException(nameof(markerToken), markerToken, "the hint marker must be a token id");
        Spec = spec;
        MarkerToken = markerToken;
        this.solution = solution ?? (p => p.ReferenceCompletion);
    }

    public HintSpec Spec { get; }
    public long MarkerToken { get; }

    /// <summary>The hint marker for a task: the id right after its vocabulary.</summary>
    public static long MarkerFor(ITask task) => task.VocabularySize;

    /// <summary>The prompt for a training problem at RL step <paramref name="step"/> (the curriculum's fraction then).</summary>
    public RolloutPrompt TrainingPrompt(Problem problem, long step)
    {
        var reference = solution(problem);
        var length = Spec.PrefixLength(reference.Length, Spec.FractionAt(step));
        if (length == 0 || problem.Prompt.Length == 0) return RolloutPrompt.Plain(problem);
        long[] tokens = [.. problem.Prompt, MarkerToken, .. reference[..length], problem.Prompt[^1]];
        return new RolloutPrompt(problem, tokens, length);
    }

    /// <summary>Evaluation never hints: the problem's own prompt.</summary>
    public static RolloutPrompt EvaluationPrompt(Problem problem) => RolloutPrompt.Plain(problem);

    /// <summary>The hint tokens of a hinted prompt (empty when it has none).</summary>
    public static long[] HintOf(RolloutPrompt prompt) =>
        prompt.HintTokens == 0 ? [] : prompt.Tokens[(prompt.Problem.Prompt.Length + 1)..(prompt.Problem.Prompt.Length + 1 + prompt.HintTokens)];
}
