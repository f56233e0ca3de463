namespace ModelDsl.Runtime.Rl;

/// <summary>Reported after every RL step (1 .. TotalSteps): the sampled completions' mean reward and
/// verifier accuracy. The policy-gradient loss is not a progress signal and is not reported.</summary>
public sealed record RlProgress(long Step, long TotalSteps, double MeanReward, double Accuracy, double LearningRate,
    TimeSpan Elapsed, TimeSpan Eta);
