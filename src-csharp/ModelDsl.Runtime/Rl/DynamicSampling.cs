using ModelDsl.Core.Rl;

namespace ModelDsl.Runtime.Rl;

/// <summary>The group filter of dynamic sampling (DAPO §3.2, QuestA): which groups' success rates lie in the band.</summary>
public static class DynamicSampling
{
    /// <param name="correct">Verifier verdicts, row p * G + g.</param>
    /// <returns>Indices of the kept groups, in order, and the number dropped.</returns>
    public static (int[] Kept, int Dropped) Filter(IReadOnlyList<bool> correct, int groupSize, DynamicSamplingSpec spec)
    {
        if (groupSize < 1 || correct.Count % groupSize != 0)
            throw new ArgumentException($"{correct.Count} verdicts are not whole groups of {groupSize}");
        var groups = correct.Count / groupSize;
        var kept = Enumerable.Range(0, groups)
            .Where(g => spec.Keeps(Enumerable.Range(g * groupSize, groupSize).Count(r => correct[r]) / (double)groupSize))
            .ToArray();
        return (kept, groups - kept.Length);
    }
}
