namespace ModelDsl.Runtime.Rl;

/// <summary>
/// What one RL step did. Reward, accuracy, zero-std fraction and completion lengths are over every
/// completion sampled in the step (all rounds, before dynamic sampling drops groups); clip fractions,
/// KL and entropy are token means over the trained batch and all Mu iterations. The loss is not a
/// progress signal in policy-gradient training and is deliberately not reported.
/// </summary>
public sealed record RlStepMetrics
{
    public long Step { get; init; }
    public double MeanReward { get; init; }
    /// <summary>Fraction of completions the verifier accepts.</summary>
    public double Accuracy { get; init; }
    /// <summary>Fraction of groups whose G rewards are all equal (no learning signal under group advantages).</summary>
    public double ZeroStdGroupFraction { get; init; }
    /// <summary>Fraction of trained tokens with A &lt; 0 and ratio &lt; 1 - epsLow (gradient cut by the low clip).</summary>
    public double ClipFractionLow { get; init; }
    /// <summary>Fraction of trained tokens with A &gt; 0 and ratio &gt; 1 + epsHigh.</summary>
    public double ClipFractionHigh { get; init; }
    public double DualClipFraction { get; init; }
    /// <summary>Token mean of the KL estimator to the reference; NaN when no reference model is kept.</summary>
    public double Kl { get; init; }
    /// <summary>Token mean of the policy's entropy at temperature T.</summary>
    public double Entropy { get; init; }
    public double CompletionLengthMean { get; init; }
    public int CompletionLengthMax { get; init; }
    public double TruncatedFraction { get; init; }
    /// <summary>Groups dropped by dynamic sampling in this step.</summary>
    public int DroppedGroups { get; init; }
    /// <summary>Groups trained on (PromptsPerStep unless dynamic sampling ran out of rounds).</summary>
    public int TrainedGroups { get; init; }
    public int SamplingRounds { get; init; }
    /// <summary>Fraction of sampled prompts that carried a hint.</summary>
    public double HintedFraction { get; init; }
    /// <summary>Global gradient norm before clipping, of the last policy iteration.</summary>
    public double GradNorm { get; init; }
    /// <summary>Generated tokens per second while sampling.</summary>
    public double SamplingTokensPerSecond { get; init; }
    /// <summary>Positions run forward and backward per second during the policy update.</summary>
    public double TrainingTokensPerSecond { get; init; }

    /// <summary>The values as named metrics, for <see cref="Runs.MetricsLog.Write"/> (event "rl").</summary>
    public IEnumerable<KeyValuePair<string, object?>> ToMetrics() =>
    [
        new("meanReward", MeanReward), new("accuracy", Accuracy), new("zeroStdGroupFraction", ZeroStdGroupFraction),
        new("clipFractionLow", ClipFractionLow), new("clipFractionHigh", ClipFractionHigh), new("dualClipFraction", DualClipFraction),
        new("kl", Kl), new("entropy", Entropy), new("completionLengthMean", CompletionLengthMean),
        new("completionLengthMax", CompletionLengthMax), new("truncatedFraction", TruncatedFraction),
        new("droppedGroups", DroppedGroups), new("trainedGroups", TrainedGroups), new("samplingRounds", SamplingRounds),
        new("hintedFraction", HintedFraction), new("gradNorm", GradNorm),
        new("samplingTokensPerSecond", SamplingTokensPerSecond), new("trainingTokensPerSecond", TrainingTokensPerSecond),
    ];
}
