using ModelDsl.Runtime.Tasks;

namespace ModelDsl.Runtime.Eval;

/// <summary>
/// The n sampled completions of one problem, in sampling order, with the verifier's verdict, the
/// final answer and the model's summed log-probability of each (see <see cref="CompletionSampler"/>).
/// </summary>
public sealed record ProblemSamples(Problem Problem, IReadOnlyList<long[]> Completions, IReadOnlyList<bool> Correct,
    IReadOnlyList<string> FinalAnswers, IReadOnlyList<double> LogProbabilities)
{
    public int Count => Correct.Count;
    public int CorrectCount => Correct.Count(c => c);
    /// <summary>rho_x, the problem's pass@1 estimated from its samples: c / n.</summary>
    public double PassRate => (double)CorrectCount / Count;
    public int DistinctAnswers => FinalAnswers.Distinct(StringComparer.Ordinal).Count();
}
