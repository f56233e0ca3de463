using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tasks;

/// <summary>Builds next-token batches from whole token sequences.</summary>
public static class SequenceBatch
{
    /// <summary>
    /// Each sequence has T + 1 tokens: Inputs are its first T, Targets its last T, and the loss
    /// counts target position t (predicting sequence[t + 1]) where <paramref name="counts"/>(sequence, t).
    /// </summary>
    public static Batch NextToken(IReadOnlyList<long[]> sequences, Func<long[], int, bool> counts)
    {
        if (sequences.Count == 0) throw new ArgumentException("a batch needs at least one sequence");
        var length = sequences[0].Length - 1;
        var size = sequences.Count;
        var inputs = new long[size * length];
        var targets = new long[size * length];
        var mask = new float[size * length];
        for (var b = 0; b < size; b++)
        {
            var sequence = sequences[b];
            if (sequence.Length != length + 1)
                throw new ArgumentException($"sequence {b} has {sequence.Length} tokens, the first has {length + 1}");
            Array.Copy(sequence, 0, inputs, b * length, length);
            Array.Copy(sequence, 1, targets, b * length, length);
            for (var t = 0; t < length; t++) mask[b * length + t] = counts(sequence, t) ? 1f : 0f;
        }
        return new Batch(
            tensor(inputs, [size, length], ScalarType.Int64),
            tensor(targets, [size, length], ScalarType.Int64),
            tensor(mask, [size, length], ScalarType.Float32));
    }
}
