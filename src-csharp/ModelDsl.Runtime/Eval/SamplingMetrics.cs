using ModelDsl.Core.FineTune;
using ModelDsl.Runtime.Model;
using ModelDsl.Runtime.Tasks;

namespace ModelDsl.Runtime.Eval;

/// <summary>
/// A sampling evaluation (<see cref="SamplingEvaluator"/>) as the named values of a "sampling" event in
/// metrics.jsonl: pass@k, maj@k and Best@k by log-probability for every k, the per-problem pass rate's
/// mean, variance and histogram, and the fraction of distinct final answers.
/// </summary>
public static class SamplingMetrics
{
    /// <summary>Evaluates <paramref name="model"/> on the task's held-out problems and returns the event's values.</summary>
    public static IReadOnlyList<KeyValuePair<string, object?>> Measure(LanguageModel model, ITask task, SamplingEvalSpec spec) =>
        Of(SamplingEvaluator.Evaluate(model, task, spec));

    public static IReadOnlyList<KeyValuePair<string, object?>> Of(SamplingEvalResult result)
    {
        var values = new List<KeyValuePair<string, object?>>
        {
            new("problems", result.Problems), new("samples", result.SamplesPerProblem),
            new("passRateMean", result.PassRates.Mean), new("passRateVariance", result.PassRates.Variance),
            new("passRateHistogram", string.Join(",", result.PassRates.Histogram)),
            new("distinctAnswerFraction", result.DistinctAnswerFraction),
        };
        foreach (var score in result.Scores)
        {
            values.Add(new($"pass@{score.K}", score.PassAtK));
            values.Add(new($"maj@{score.K}", score.MajorityAtK));
            values.Add(new($"best@{score.K}", score.BestByLogProbabilityAtK));
        }
        return values;
    }
}
