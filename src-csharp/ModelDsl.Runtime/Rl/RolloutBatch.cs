using static TorchSharp.torch;

namespace ModelDsl.Runtime.Rl;

/// <summary>
/// G sampled completions for each of a list of prompts, on CPU. Row p * G + g is completion g of prompt
/// p. Completions int64 [N, K] with K the max new tokens; Mask [N, K] (model dtype) is 1 up to and
/// including the stop token, 0 after it; BehaviourLogProbs [N, K] are log softmax(logits / T) of each
/// sampled token recorded while sampling (<see cref="TokenLogProbs"/>). A completion that reached K
/// tokens without the stop token is truncated (never, when there is no stop token).
/// </summary>
public sealed class RolloutBatch : IDisposable
{
    public RolloutBatch(IReadOnlyList<RolloutPrompt> prompts, int groupSize, Tensor completions, Tensor mask, Tensor behaviourLogProbs,
        bool[] stopped, bool[] truncated)
    {
        var rows = prompts.Count * groupSize;
        if (completions.shape[0] != rows || mask.shape[0] != rows || behaviourLogProbs.shape[0] != rows || stopped.Length != rows || truncated.Length != rows)
            throw new ArgumentException($"a rollout of {prompts.Count} prompts x G = {groupSize} needs {rows} rows");
        Prompts = prompts;
        GroupSize = groupSize;
        Completions = completions;
        Mask = mask;
        BehaviourLogProbs = behaviourLogProbs;
        Stopped = stopped;
        Truncated = truncated;
        var counts = mask.sum(1).to(ScalarType.Float64);
        Lengths = counts.data<double>().Select(c => (int)Math.Round(c)).ToArray();
        counts.Dispose();
    }

    public IReadOnlyList<RolloutPrompt> Prompts { get; }
    public int GroupSize { get; }
    public Tensor Completions { get; }
    public Tensor Mask { get; }
    public Tensor BehaviourLogProbs { get; }
    public bool[] Stopped { get; }
    public bool[] Truncated { get; }
    /// <summary>Counted tokens of each completion (including its stop token).</summary>
    public int[] Lengths { get; }

    public int Rows => Prompts.Count * GroupSize;
    public int MaxNewTokens => (int)Completions.shape[1];

    /// <summary>The prompt of row <paramref name="row"/>.</summary>
    public RolloutPrompt PromptOf(int row) => Prompts[row / GroupSize];

    /// <summary>Generated tokens of a row before its stop token (all K when it has none).</summary>
    public long[] Answer(int row, long? stopToken)
    {
        var tokens = Completions[row].data<long>().ToArray();
        return Stopped[row] && stopToken is { } stop ? tokens[..Array.IndexOf(tokens, stop)] : tokens;
    }

    /// <summary>The rollouts of the given prompts (groups), in that order, as a new batch.</summary>
    public RolloutBatch SelectGroups(IReadOnlyList<int> groups)
    {
        var rows = groups.SelectMany(g => Enumerable.Range(g * GroupSize, GroupSize)).ToArray();
        using var index = tensor(rows.Select(r => (long)r).ToArray(), ScalarType.Int64);
        return new RolloutBatch(groups.Select(g => Prompts[g]).ToList(), GroupSize, Completions.index_select(0, index),
            Mask.index_select(0, index), BehaviourLogProbs.index_select(0, index),
            rows.Select(r => Stopped[r]).ToArray(), rows.Select(r => Truncated[r]).ToArray());
    }

    /// <summary>Batches with the same G and K, one after another.</summary>
    public static RolloutBatch Concat(IReadOnlyList<RolloutBatch> parts)
    {
        if (parts.Count == 0) throw new ArgumentException("nothing to concatenate");
        if (parts.Count == 1) return parts[0].SelectGroups(Enumerable.Range(0, parts[0].Prompts.Count).ToArray());
        return new RolloutBatch(parts.SelectMany(p => p.Prompts).ToList(), parts[0].GroupSize,
            cat(parts.Select(p => p.Completions).ToArray(), 0), cat(parts.Select(p => p.Mask).ToArray(), 0),
            cat(parts.Select(p => p.BehaviourLogProbs).ToArray(), 0),
            parts.SelectMany(p => p.Stopped).ToArray(), parts.SelectMany(p => p.Truncated).ToArray());
    }

    public void Dispose()
    {
        Completions.Dispose();
        Mask.Dispose();
        BehaviourLogProbs.Dispose();
    }
}
