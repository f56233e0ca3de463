using ModelDsl.Core.FineTune;
using ModelDsl.Runtime.Tasks;
using ModelDsl.Runtime.Model;

namespace ModelDsl.Runtime.Eval;

/// <summary>
/// The scores at one k, each a mean over problems: unbiased pass@k (= Best@k by a perfect verifier),
/// maj@k (<see cref="MajorityAtK"/>), Best@k by the model's summed log-probability
/// (<see cref="BestAtK"/>), and the bias-variance split of the plug-in failure rate.
/// </summary>
public sealed record SamplingScore(int K, double PassAtK, double MajorityAtK, double BestByLogProbabilityAtK,
    PassAtKDecomposition Decomposition);

/// <summary>
/// A sampling evaluation: n samples per problem; PassRates describes rho_x = c_x / n over problems;
/// DistinctAnswerFraction is the mean over problems of (distinct final answers) / n (diversity).
/// </summary>
public sealed record SamplingEvalResult(int Problems, int SamplesPerProblem, PassRateStatistics PassRates,
    double DistinctAnswerFraction, IReadOnlyList<SamplingScore> Scores, IReadOnlyList<ProblemSamples> PerProblem)
{
    public SamplingScore At(int k) => Scores.FirstOrDefault(s => s.K == k)
                                      ?? throw new ArgumentException($"k = {k} was not evaluated (ks: {string.Join(", ", Scores.Select(s => s.K))})");
}

/// <summary>Evaluation by sampling (PAPERS.md §5), shared by fine-tuning and RL.</summary>
public static class SamplingEvaluator
{
    /// <summary>Samples the task's first spec.Problems held-out problems and scores them.</summary>
    public static SamplingEvalResult Evaluate(LanguageModel model, ITask task, SamplingEvalSpec spec)
    {
        spec.EnsureValid();
        var problems = task.EvalProblems(spec.Problems);
        if (problems.Count == 0) throw new InvalidOperationException($"task {task.Spec.GetType().Name} has no verifiable problems to sample");
        var samples = CompletionSampler.Sample(model, task, problems, spec.Samples, spec.Sampling, spec.Seed, spec.BatchSize);
        return Score(samples, spec.Ks, seed: spec.Seed);
    }

    /// <summary>Scores samples drawn elsewhere (e.g. RL rollouts); every problem needs at least max(ks) samples.</summary>
    public static SamplingEvalResult Score(IReadOnlyList<ProblemSamples> samples, IReadOnlyList<int> ks, int histogramBins = 10, long seed = 0)
    {
        if (samples.Count == 0) throw new ArgumentException("no problems were sampled");
        if (ks.Count == 0) throw new ArgumentException("no k to evaluate");
        var fewest = samples.Min(s => s.Count);
        foreach (var k in ks)
            if (k < 1 || k > fewest) throw new ArgumentOutOfRangeException(nameof(ks), k, $"every k must lie in [1, {fewest}] (the fewest samples of a problem)");
        var rho = samples.Select(s => s.PassRate).ToArray();
        var scores = ks.Select(k => new SamplingScore(k,
            samples.Average(s => PassAtK.Estimate(s.Count, s.CorrectCount, k)),
            samples.Select((s, i) => MajorityAtK.Estimate(s.FinalAnswers, s.Correct, k, seed + i)).Average(),
            samples.Average(s => BestAtK.ByScore(s.LogProbabilities, s.Correct, k)),
            PassAtKDecomposition.Of(rho, k))).ToList();
        return new SamplingEvalResult(samples.Count, samples[0].Count,
            PassRateStatistics.From(samples.Select(s => (s.CorrectCount, s.Count)).ToList(), histogramBins),
            samples.Average(s => (double)s.DistinctAnswers / s.Count), scores, samples);
    }
}
