namespace ModelDsl.Runtime.Studies;

/// <summary>How many seeds a per-seed comparison held in.</summary>
public enum SeedAgreement
{
    NoSeed,
    SomeSeeds,
    EverySeed,
}

/// <summary>
/// The verdict rules the study scripts apply to their per-seed results: means over seeds, claims that
/// must hold in every seed or at every setting, the early stop at a target accuracy and the smallest
/// training-set size reaching it. A claim checked on no data is never supported, and a missing (NaN)
/// result never counts as a success.
/// </summary>
public static class ClaimRules
{
    /// <summary>"reproduced" or "not reproduced", the wording of every study report.</summary>
    public static string Verdict(bool holds) => holds ? "reproduced" : "not reproduced";

    /// <summary>The mean over seeds; NaN when there are none or any seed's value is NaN.</summary>
    public static double MeanOverSeeds(IEnumerable<double> perSeed)
    {
        var values = perSeed.ToList();
        return values.Count == 0 ? double.NaN : values.Average();
    }

    /// <summary>In how many seeds <paramref name="perSeed"/> held.</summary>
    public static SeedAgreement Agreement(IEnumerable<bool> perSeed)
    {
        var values = perSeed.ToList();
        if (values.Count == 0) throw new ArgumentException("a claim needs at least one seed", nameof(perSeed));
        return values.All(v => v) ? SeedAgreement.EverySeed : values.Any(v => v) ? SeedAgreement.SomeSeeds : SeedAgreement.NoSeed;
    }

    /// <summary>Whether treatment[i] beats control[i] (by <paramref name="better"/>) in every seed i; the lists are paired by seed.</summary>
    public static bool InEverySeed(IReadOnlyList<double> treatment, IReadOnlyList<double> control, Func<double, double, bool> better)
    {
        if (treatment.Count != control.Count)
            throw new ArgumentException($"paired by seed: {treatment.Count} treatment and {control.Count} control results");
        return treatment.Count > 0 && Agreement(treatment.Zip(control, better)) == SeedAgreement.EverySeed;
    }

    /// <summary>Whether the treatment's mean over seeds is below the control's by more than <paramref name="margin"/> (false when either is NaN).</summary>
    public static bool LowerOnTheMean(IEnumerable<double> treatment, IEnumerable<double> control, double margin = 0) =>
        MeanOverSeeds(treatment) < MeanOverSeeds(control) - margin;

    /// <summary>Whether <paramref name="holds"/> at every setting (learning rate, length, ...); false for no settings.</summary>
    public static bool AtEverySetting<T>(IEnumerable<T> settings, Func<T, bool> holds)
    {
        var list = settings.ToList();
        return list.Count > 0 && list.All(holds);
    }

    /// <summary>The early stop of a study run: a held-out accuracy that reached the target (a missing one never does).</summary>
    public static bool ReachedTarget(double? accuracy, double target) => accuracy is { } a && !double.IsNaN(a) && a >= target;

    /// <summary>The patience stop of a study run trained to convergence: the best held-out accuracy of the last
    /// <paramref name="patience"/> evaluations is not above the best before them by more than <paramref name="minDelta"/>.
    /// False until more than <paramref name="patience"/> evaluations exist; missing accuracies count as no improvement.</summary>
    public static bool Stalled(IReadOnlyList<double?> accuracies, int patience, double minDelta)
    {
        if (patience < 1) throw new ArgumentOutOfRangeException(nameof(patience), patience, "patience must be at least 1 evaluation");
        if (accuracies.Count <= patience) return false;
        static double Best(IEnumerable<double?> xs) => xs.Select(a => a is { } v && !double.IsNaN(v) ? v : double.NegativeInfinity).Max();
        var before = Best(accuracies.Take(accuracies.Count - patience));
        return Best(accuracies.Skip(accuracies.Count - patience)) <= before + minDelta;
    }

    /// <summary>N*: the smallest size whose best accuracy reached the target, or null when none did.</summary>
    public static int? SmallestReaching(IEnumerable<(int Size, double BestAccuracy)> runs, double target)
    {
        var reached = runs.Where(r => ReachedTarget(r.BestAccuracy, target)).Select(r => r.Size).ToList();
        return reached.Count == 0 ? null : reached.Min();
    }

    /// <summary>"N* roughly flat in k": every k reached the target and the log2 sizes span at most <paramref name="maxSpread"/>.</summary>
    public static bool FlatAcross(IReadOnlyList<int?> log2Sizes, int maxSpread)
    {
        if (log2Sizes.Count == 0 || log2Sizes.Any(e => e is null)) return false;
        return log2Sizes.Max()!.Value - log2Sizes.Min()!.Value <= maxSpread;
    }

    /// <summary>"Without the aid N* is larger and grows": at every k the unaided N* is at least the aided one
    /// (not reaching counts as larger; an aided failure fails the claim), and the last k's unaided N* exceeds the first's
    /// (not reaching at the last k counts as exceeding).</summary>
    public static bool LargerAndGrowing(IReadOnlyList<int?> aided, IReadOnlyList<int?> unaided)
    {
        if (aided.Count != unaided.Count) throw new ArgumentException($"{aided.Count} aided and {unaided.Count} unaided results");
        if (aided.Count == 0) return false;
        var larger = aided.Zip(unaided).All(p => p switch
        {
            ({ } c, { } d) => d >= c,
            (not null, null) => true,
            _ => false,
        });
        var grows = unaided[^1] is not { } last || last > (unaided[0] ?? 0);
        return larger && grows;
    }

    /// <summary>The verdict of a claim that may not be testable on the data at hand (null: "not tested").</summary>
    public static string VerdictOrUntested(bool? holds) => holds is { } h ? Verdict(h) : "not tested";

    /// <summary>Whether <paramref name="loss"/> is lower than <paramref name="other"/> by more than
    /// <paramref name="margin"/> (a tie threshold); false when either is NaN.</summary>
    public static bool Beats(double loss, double other, double margin) => loss < other - margin;

    /// <summary>"Shrinks along the list": every value finite, each at most the previous plus
    /// <paramref name="tolerance"/>, and the last below the first by more than the tolerance; false for fewer than two values.</summary>
    public static bool Shrinks(IReadOnlyList<double> values, double tolerance)
    {
        if (values.Count < 2 || values.Any(v => !double.IsFinite(v))) return false;
        for (var i = 1; i < values.Count; i++)
            if (values[i] > values[i - 1] + tolerance) return false;
        return values[^1] < values[0] - tolerance;
    }
}
