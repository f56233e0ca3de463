namespace ModelDsl.Runtime.Tasks;

/// <summary>
/// Random streams that are pure functions of their coordinates (seed, stream, step, micro-batch ...),
/// so that any batch can be regenerated without replaying the ones before it (deterministic resume).
/// </summary>
public static class SeededRandom
{
    /// <summary>A <see cref="Random"/> seeded from a SplitMix64 hash of all the coordinates.</summary>
    public static Random For(params long[] coordinates) => new(Hash(coordinates));

    /// <summary>Mixes the coordinates with SplitMix64 (Steele et al. 2014), folding 64 bits to 32.</summary>
    public static int Hash(params long[] coordinates)
    {
        ulong state = 0x9E3779B97F4A7C15UL;
        foreach (var c in coordinates) state = Mix(state ^ Mix((ulong)c + 0x9E3779B97F4A7C15UL));
        return (int)(state ^ (state >> 32));
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
