using System.Diagnostics;
using ModelDsl.Core.Rl;
using ModelDsl.Runtime.Optim;
using ModelDsl.Runtime.Tasks;
using TorchSharp;
using static TorchSharp.torch;
using ModelDsl.Runtime.Model;

namespace ModelDsl.Runtime.Rl;

/// <summary>
/// GRPO-family RL on a verifiable task (PAPERS.md §2). One <see cref="Step"/>: draw PromptsPerStep
/// training problems (with QuestA hints when configured), sample G completions each, score them with the
/// verifier; with dynamic sampling drop groups outside the success band and refill from new problems;
/// turn rewards into advantages; then Mu optimizer steps on the batch, each accumulating gradients over
/// micro-batches with the loss normaliser counted over the whole batch. Sampling draws from a seeded
/// generator and problems are fixed by (step, round), so a run is reproducible and resumable
/// (<see cref="SaveState"/>: step and generator state; the model and optimizer are saved by the caller).
/// </summary>
public sealed class RlTrainer : IDisposable
{
    private readonly RlSpec spec;
    private readonly IOptimizer optimizer;
    private readonly IRewardFunction reward;
    private readonly IProblemSource problems;
    private readonly Func<long, double> learningRateMultiplier;
    private readonly torch.Generator rng;
    private readonly bool ownsReference;

    /// <param name="reference">The frozen reference when the KL coefficient is above 0; a frozen copy of the
    /// policy is made when null. Not kept when the coefficient is 0.</param>
    /// <param name="reward">The task's verifier reward (<see cref="VerifierReward"/>) when null.</param>
    /// <param name="problems">Problems cut from the task's training batches (<see cref="TaskProblemSource"/>) when null.</param>
    /// <param name="learningRateMultiplier">Schedule multiplier by RL step; 1 when null.</param>
    public RlTrainer(RlSpec spec, LanguageModel policy, IOptimizer optimizer, ITask task, long seed, LanguageModel? reference = null,
        IRewardFunction? reward = null, IProblemSource? problems = null, Func<long, double>? learningRateMultiplier = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(task);
        spec.EnsureValid();
        if (optimizer.NeedsHessianVectorProduct)
            throw new NotSupportedException("the RL trainer gives optimizers no Hessian-vector product (Sophia-H cannot be used)");
        this.spec = spec;
        Policy = policy;
        this.optimizer = optimizer;
        MaxNewTokens = spec.MaxNewTokens ?? task.CompletionLength;
        if (spec.StopToken is { } stop && stop >= policy.Spec.Vocab)
            throw new ArgumentException($"rl.stopToken: {stop} is outside the policy's vocabulary ({policy.Spec.Vocab})");
        if (spec.Hints is { } hints)
        {
            Hints = new HintTransform(hints, HintTransform.MarkerFor(task));
            if (Hints.MarkerToken >= policy.Spec.Vocab)
                throw new ArgumentException(
                    $"rl.hints: the hint marker is token {Hints.MarkerToken} (right after the task's vocabulary), so the policy needs vocab >= {Hints.MarkerToken + 1}, has {policy.Spec.Vocab}");
        }
        if (spec.Kl.UsesReference)
        {
            ownsReference = reference is null;
            Reference = reference ?? ReferencePolicy.FrozenCopy(policy);
        }
        this.reward = reward ?? new VerifierReward(task, spec.Reward, spec.StopToken);
        this.problems = problems ?? new TaskProblemSource(task);
        this.learningRateMultiplier = learningRateMultiplier ?? (_ => 1.0);
        rng = new torch.Generator((ulong)seed, policy.Device);
    }

    public LanguageModel Policy { get; }
    /// <summary>The frozen reference; null when the KL coefficient is 0.</summary>
    public LanguageModel? Reference { get; }
    public HintTransform? Hints { get; }
    /// <summary>K, tokens sampled per completion (RlSpec.MaxNewTokens or the task's answer length).</summary>
    public int MaxNewTokens { get; }
    /// <summary>RL steps taken so far.</summary>
    public long StepCount { get; private set; }

    public RlStepMetrics Step()
    {
        var step = StepCount;
        var stats = new SampledStatistics();
        var (batch, dropped, rounds, samplingSeconds, sampledTokens) = Sample(step, stats);
        var metrics = new RlStepMetrics
        {
            Step = step,
            MeanReward = stats.Rewards.Average(),
            Accuracy = stats.Correct.Average(c => c ? 1.0 : 0.0),
            ZeroStdGroupFraction = stats.ZeroStdGroups / (double)stats.Groups,
            CompletionLengthMean = stats.Lengths.Average(),
            CompletionLengthMax = stats.Lengths.Max(),
            TruncatedFraction = stats.Truncated / (double)stats.Lengths.Count,
            DroppedGroups = dropped,
            TrainedGroups = batch?.batch.Prompts.Count ?? 0,
            SamplingRounds = rounds,
            HintedFraction = stats.Hinted / (double)stats.Groups,
            SamplingTokensPerSecond = sampledTokens / Math.Max(samplingSeconds, 1e-9),
            Kl = double.NaN,
            Entropy = double.NaN,
        };
        if (batch is { } trained)
            using (trained.batch)
                metrics = Update(step, trained.batch, trained.rewards, metrics);
        StepCount++;
        return metrics;
    }

    private sealed class SampledStatistics
    {
        public readonly List<double> Rewards = [];
        public readonly List<bool> Correct = [];
        public readonly List<int> Lengths = [];
        public int Truncated, Groups, ZeroStdGroups, Hinted;
    }

    private ((RolloutBatch batch, double[] rewards)? Batch, int Dropped, int Rounds, double Seconds, long Tokens) Sample(long step, SampledStatistics stats)
    {
        var clock = Stopwatch.StartNew();
        var parts = new List<RolloutBatch>();
        var keptRewards = new List<double>();
        int kept = 0, dropped = 0, rounds = 0;
        long tokens = 0;
        var g = spec.GroupSize;
        try
        {
            for (var round = 0; ; round++)
            {
                rounds++;
                var prompts = problems.TrainingProblems(step, round, spec.PromptsPerStep)
                    .Select(p => Hints?.TrainingPrompt(p, step) ?? RolloutPrompt.Plain(p)).ToList();
                using var rollout = RolloutSampler.Sample(Policy, prompts, g, spec.Sampling, MaxNewTokens, spec.StopToken, rng);
                tokens += (long)rollout.Rows * MaxNewTokens;
                var scores = Enumerable.Range(0, rollout.Rows)
                    .Select(r => reward.Score(rollout.PromptOf(r).Problem, rollout.Answer(r, spec.StopToken), rollout.Stopped[r])).ToArray();
                stats.Rewards.AddRange(scores.Select(s => s.Reward));
                stats.Correct.AddRange(scores.Select(s => s.Correct));
                stats.Lengths.AddRange(rollout.Lengths);
                stats.Truncated += rollout.Truncated.Count(t => t);
                stats.Groups += prompts.Count;
                stats.Hinted += prompts.Count(p => p.HintTokens > 0);
                for (var p = 0; p < prompts.Count; p++)
                    if (scores.Skip(p * g).Take(g).Select(s => s.Reward).Distinct().Count() == 1) stats.ZeroStdGroups++;

                int[] chosen;
                if (spec.DynamicSampling is { } dynamic)
                {
                    var (inBand, out_) = DynamicSampling.Filter(scores.Select(s => s.Correct).ToArray(), g, dynamic);
                    dropped += out_;
                    chosen = inBand.Take(spec.PromptsPerStep - kept).ToArray();
                }
                else chosen = Enumerable.Range(0, prompts.Count).ToArray();
                if (chosen.Length > 0)
                {
                    parts.Add(rollout.SelectGroups(chosen));
                    keptRewards.AddRange(chosen.SelectMany(c => scores.Skip(c * g).Take(g).Select(s => s.Reward)));
                    kept += chosen.Length;
                }
                if (spec.DynamicSampling is null || kept >= spec.PromptsPerStep || round >= spec.DynamicSampling.MaxExtraRounds) break;
            }
            var batch = parts.Count == 0 ? null : RolloutBatch.Concat(parts);
            return (batch is null ? null : (batch, keptRewards.ToArray()), dropped, rounds, clock.Elapsed.TotalSeconds, tokens);
        }
        finally
        {
            foreach (var part in parts) part.Dispose();
        }
    }

    private RlStepMetrics Update(long step, RolloutBatch batch, double[] rewards, RlStepMetrics metrics)
    {
        using var scope = NewDisposeScope();
        var clock = Stopwatch.StartNew();
        var device = Policy.Device;
        var temperature = spec.Sampling.Temperature;
        var rows = batch.Rows;
        var mask = batch.Mask.to(device);
        if (spec.MaskTruncated)
            mask = mask * tensor(batch.Truncated.Select(t => t ? 0.0 : 1.0).ToArray(), ScalarType.Float64).to(mask.dtype).to(device).unsqueeze(1);
        var old = batch.BehaviourLogProbs.to(device);

        Tensor? referenceLogProbs = null;
        if (Reference is not null)
        {
            using var noGrad = no_grad();
            referenceLogProbs = cat(Chunks(rows).Select(c => PolicyForward.Run(Reference, batch, c.Start, c.Count, temperature, withEntropy: false).LogProbs).ToArray(), 0);
            if (spec.Kl.Placement == KlPlacement.Reward)
            {
                // In-reward penalty: R_i - beta * sum_t KL_t, measured between the behaviour policy and the reference.
                var klPerCompletion = (KlEstimators.Compute(old, referenceLogProbs, spec.Kl.Estimator) * batch.Mask.to(device)).sum(1)
                    .to(ScalarType.Float64).cpu().data<double>().ToArray();
                rewards = rewards.Select((r, i) => r - spec.Kl.Beta * klPerCompletion[i]).ToArray();
            }
        }
        var advantages = Advantages.Compute(tensor(rewards, [batch.Prompts.Count, spec.GroupSize], ScalarType.Float64), spec.Advantage)
            .reshape(rows).to(Policy.Dtype).to(device);
        var normalizer = LossNormalizer.For(spec.Aggregation, mask, spec.AggregationConstant ?? MaxNewTokens);
        var settings = PolicyLossSettings.From(spec);

        double tokens = 0, low = 0, high = 0, dual = 0, klSum = 0, entropySum = 0, gradNorm = 0;
        long positions = 0;
        Policy.train();
        for (var iteration = 0; iteration < spec.Mu; iteration++)
        {
            optimizer.ZeroGrad();
            foreach (var (start, count) in Chunks(rows))
            {
                using var microScope = NewDisposeScope();
                var (logProbs, entropy) = PolicyForward.Run(Policy, batch, start, count, temperature);
                using var result = PolicyLoss.Compute(logProbs, old.narrow(0, start, count), advantages.narrow(0, start, count),
                    mask.narrow(0, start, count), settings, normalizer, referenceLogProbs?.narrow(0, start, count), entropy);
                result.Loss.backward();
                (tokens, low, high, dual, klSum, entropySum) = (tokens + result.Tokens, low + result.ClippedLow, high + result.ClippedHigh,
                    dual + result.DualClipped, klSum + result.KlSum, entropySum + result.EntropySum);
                positions += Enumerable.Range(start, count).Sum(r => batch.PromptOf(r).Tokens.Length + MaxNewTokens - 1);
            }
            gradNorm = optimizer.Step(learningRateMultiplier(step), StepContext.None);
        }
        optimizer.ZeroGrad();
        var perToken = Math.Max(tokens, 1);
        return metrics with
        {
            ClipFractionLow = low / perToken,
            ClipFractionHigh = high / perToken,
            DualClipFraction = dual / perToken,
            Kl = Reference is null ? double.NaN : klSum / perToken,
            Entropy = entropySum / perToken,
            GradNorm = gradNorm,
            TrainingTokensPerSecond = positions / Math.Max(clock.Elapsed.TotalSeconds, 1e-9),
        };
    }

    private IEnumerable<(int Start, int Count)> Chunks(int rows)
    {
        for (var start = 0; start < rows; start += spec.MicroBatch) yield return (start, Math.Min(spec.MicroBatch, rows - start));
    }

    /// <summary>Writes the step count and the sampling generator's state.</summary>
    public void SaveState(BinaryWriter writer)
    {
        writer.Write(StepCount);
        using var state = rng.get_state();
        var bytes = state.data<byte>().ToArray();
        writer.Write(bytes.Length);
        writer.Write(bytes);
    }

    /// <summary>Restores what <see cref="SaveState"/> wrote, so the next step samples as the uninterrupted run would.</summary>
    public void LoadState(BinaryReader reader)
    {
        var step = reader.ReadInt64();
        var length = reader.ReadInt32();
        var bytes = reader.ReadBytes(length);
        if (step < 0 || bytes.Length != length) throw new InvalidDataException("the RL trainer state is truncated or corrupt");
        using var state = tensor(bytes, ScalarType.Byte);
        rng.set_state(state);
        StepCount = step;
    }

    public void Dispose()
    {
        rng.Dispose();
        if (ownsReference) Reference?.Dispose();
    }
}
