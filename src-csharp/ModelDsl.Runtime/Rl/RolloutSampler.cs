using ModelDsl.Core.Generation;
using ModelDsl.Runtime.Generation;
using TorchSharp;
using static TorchSharp.torch;
using ModelDsl.Runtime.Model;

namespace ModelDsl.Runtime.Rl;

/// <summary>
/// Samples G completions per prompt with the KV cache (or, as the reference, by rerunning the prefix),
/// drawing each token with <see cref="TokenSampler"/> (temperature, top-p) from <paramref name="rng"/> and
/// recording its behaviour log-probability log softmax(logits / T) (untruncated; see <see cref="TokenLogProbs"/>).
/// Prompts of equal length are sampled together (the cache needs equal lengths); groups of different
/// lengths run one after another in order of first appearance. Once a row has emitted the stop token,
/// the rest of its tokens are masked out (and set to the stop token); sampling ends early when every row has stopped.
/// </summary>
public static class RolloutSampler
{
    public static RolloutBatch Sample(LanguageModel model, IReadOnlyList<RolloutPrompt> prompts, int groupSize, SamplingSpec sampling,
        int maxNewTokens, long? stopToken, torch.Generator rng, bool useCache = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompts);
        if (prompts.Count == 0) throw new ArgumentException("no prompts to sample from", nameof(prompts));
        if (groupSize < 1) throw new ArgumentOutOfRangeException(nameof(groupSize), groupSize, "must be at least 1");
        if (maxNewTokens < 1) throw new ArgumentOutOfRangeException(nameof(maxNewTokens), maxNewTokens, "must be at least 1");
        if (sampling.Temperature <= 0) throw new ArgumentException("RL sampling needs a positive temperature", nameof(sampling));
        if (stopToken is { } s && (s < 0 || s >= model.Spec.Vocab))
            throw new ArgumentOutOfRangeException(nameof(stopToken), s, $"the stop token must lie in [0, vocab = {model.Spec.Vocab})");

        var rows = prompts.Count * groupSize;
        var completions = new long[rows * maxNewTokens];
        var logProbs = new double[rows * maxNewTokens];
        var mask = new double[rows * maxNewTokens];
        var stopped = new bool[rows];
        var buckets = Enumerable.Range(0, prompts.Count).GroupBy(p => prompts[p].Tokens.Length);
        foreach (var bucket in buckets)
        {
            var members = bucket.ToArray();
            var (tokens, scores, stops) = SampleEqualLength(model, members.Select(p => prompts[p].Tokens).ToArray(), groupSize,
                sampling, maxNewTokens, stopToken, rng, useCache);
            for (var m = 0; m < members.Length; m++)
                for (var g = 0; g < groupSize; g++)
                {
                    var (source, target) = (m * groupSize + g, members[m] * groupSize + g);
                    Array.Copy(tokens, source * maxNewTokens, completions, target * maxNewTokens, maxNewTokens);
                    Array.Copy(scores, source * maxNewTokens, logProbs, target * maxNewTokens, maxNewTokens);
                    stopped[target] = stops[source] < maxNewTokens;
                    for (var k = 0; k < maxNewTokens; k++) mask[target * maxNewTokens + k] = k <= stops[source] ? 1 : 0;
                }
        }
        var truncated = stopped.Select(s => stopToken is not null && !s).ToArray();
        return new RolloutBatch(prompts, groupSize,
            tensor(completions, [rows, maxNewTokens], ScalarType.Int64),
            tensor(mask, [rows, maxNewTokens], ScalarType.Float64).to(model.Dtype),
            tensor(logProbs, [rows, maxNewTokens], ScalarType.Float64).to(model.Dtype),
            stopped, truncated);
    }

    /// <returns>Tokens and log-probabilities [rows * K] and, per row, the index of its stop token (K when none).</returns>
    private static (long[] Tokens, double[] LogProbs, int[] Stops) SampleEqualLength(LanguageModel model, long[][] prompts, int groupSize,
        SamplingSpec sampling, int maxNewTokens, long? stopToken, torch.Generator rng, bool useCache)
    {
        var promptLength = prompts[0].Length;
        var rows = prompts.Length * groupSize;
        var total = promptLength + maxNewTokens;
        if (total > model.Spec.MaxSequenceLength)
            throw new ArgumentException($"prompt length {promptLength} + {maxNewTokens} new tokens exceeds the model's maxSequenceLength {model.Spec.MaxSequenceLength}");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var flat = prompts.SelectMany(p => Enumerable.Repeat(p, groupSize)).SelectMany(p => p).ToArray();
        var sequences = zeros([rows, total], ScalarType.Int64, model.Device);
        sequences.narrow(1, 0, promptLength).copy_(tensor(flat, [rows, promptLength], ScalarType.Int64));
        var recorded = zeros([rows, maxNewTokens], ScalarType.Float64);
        var stops = Enumerable.Repeat(maxNewTokens, rows).ToArray();
        var done = zeros(rows, ScalarType.Bool, model.Device);
        using var cache = useCache ? model.NewCache(rows, total) : null;
        var steps = maxNewTokens;
        // Compared with every sampled token: held for the whole loop (see HeldScalars).
        using var stopScalar = stopToken?.ToScalar();
        for (var step = 0; step < maxNewTokens; step++)
        {
            using var stepScope = NewDisposeScope();
            var position = promptLength + step;
            var logits = (cache is null
                ? model.forward(sequences.narrow(1, 0, position))
                : model.Forward(step == 0 ? sequences.narrow(1, 0, promptLength) : sequences.narrow(1, position - 1, 1), cache)).select(1, -1);
            var next = TokenSampler.Sample(logits, sampling, rng);
            if (stopToken is { } stop)
            {
                next = where(done, full_like(next, stop), next);
                done = done.logical_or(next.eq(stopScalar!)).MoveToOuterDisposeScope();
            }
            sequences.select(1, position).copy_(next);
            recorded.select(1, step).copy_(TokenLogProbs.Of(logits, next, sampling.Temperature).to(ScalarType.Float64).cpu());
            if (stopToken is not null && done.all().item<bool>())
            {
                steps = step + 1;
                break;
            }
        }
        var tokens = sequences.narrow(1, promptLength, maxNewTokens).cpu().contiguous().data<long>().ToArray();
        if (stopToken is { } s)
            for (var r = 0; r < rows; r++)
            {
                var k = Array.IndexOf(tokens, s, r * maxNewTokens, steps) - r * maxNewTokens;
                if (k >= 0)
                {
                    stops[r] = k;
                    Array.Fill(tokens, s, r * maxNewTokens + k, maxNewTokens - k);
                }
            }
        return (tokens, recorded.contiguous().data<double>().ToArray(), stops);
    }
}
