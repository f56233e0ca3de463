namespace ModelDsl.Runtime.Eval;

/// <summary>
/// Where one MoE layer sent its token slots (tokens x k, counted before capacity drops) over some
/// batches: Slots[d, e] counts slots of domain d routed to expert e.
/// </summary>
public sealed record LayerRouting(string Layer, double[,] Slots, long DroppedSlots, IReadOnlyList<string> Domains)
{
    public int DomainCount => Slots.GetLength(0);
    public int ExpertCount => Slots.GetLength(1);
    public double TotalSlots => Enumerable.Range(0, DomainCount).Sum(d => DomainSlots(d));

    private double DomainSlots(int d) => Enumerable.Range(0, ExpertCount).Sum(e => Slots[d, e]);
    private double ExpertSlots(int e) => Enumerable.Range(0, DomainCount).Sum(d => Slots[d, e]);

    /// <summary>Fraction of all slots per expert (balanced: 1/E each).</summary>
    public double[] Load => Enumerable.Range(0, ExpertCount).Select(e => Ratio(ExpertSlots(e), TotalSlots)).ToArray();

    /// <summary>Standard deviation over mean of the per-expert loads: 0 when perfectly balanced.</summary>
    public double LoadCoefficientOfVariation
    {
        get
        {
            var load = Load;
            var mean = load.Average();
            return mean == 0 ? double.NaN : Math.Sqrt(load.Average(l => (l - mean) * (l - mean))) / mean;
        }
    }

    /// <summary>P(expert | domain d), the routing distribution of one domain.</summary>
    public double[] DomainDistribution(int d) =>
        Enumerable.Range(0, ExpertCount).Select(e => Ratio(Slots[d, e], DomainSlots(d))).ToArray();

    /// <summary>
    /// I(domain; expert) in nats over slots: 0 when every domain routes alike, up to
    /// min(log D, log E) when the domain determines the expert. The specialisation measure.
    /// </summary>
    public double MutualInformation
    {
        get
        {
            var total = TotalSlots;
            if (total == 0) return double.NaN;
            var information = 0.0;
            for (var d = 0; d < DomainCount; d++)
                for (var e = 0; e < ExpertCount; e++)
                {
                    var joint = Slots[d, e] / total;
                    if (joint > 0) information += joint * Math.Log(joint / (DomainSlots(d) / total * (ExpertSlots(e) / total)));
                }
            return information;
        }
    }

    /// <summary>Mean over domains (weighted by their slots) of the share of the domain's most used expert.</summary>
    public double TopExpertShare
    {
        get
        {
            var total = TotalSlots;
            return total == 0 ? double.NaN
                : Enumerable.Range(0, DomainCount).Sum(d => DomainSlots(d) / total * DomainDistribution(d).DefaultIfEmpty(0).Max());
        }
    }

    /// <summary>Dropped slots over all slots (0 when dropless).</summary>
    public double DroppedFraction => Ratio(DroppedSlots, TotalSlots);

    /// <summary>Flat metrics for metrics.jsonl, keys prefixed by the layer; per-domain distributions on request.</summary>
    public IEnumerable<KeyValuePair<string, object?>> Metrics(bool perDomain)
    {
        yield return new($"{Layer}.loadCv", LoadCoefficientOfVariation);
        yield return new($"{Layer}.mutualInformation", MutualInformation);
        yield return new($"{Layer}.topExpertShare", TopExpertShare);
        yield return new($"{Layer}.droppedFraction", DroppedFraction);
        var load = Load;
        for (var e = 0; e < load.Length; e++) yield return new($"{Layer}.load.{e}", load[e]);
        if (!perDomain) yield break;
        for (var d = 0; d < DomainCount; d++)
        {
            var distribution = DomainDistribution(d);
            for (var e = 0; e < distribution.Length; e++) yield return new($"{Layer}.domain.{Domains[d]}.expert.{e}", distribution[e]);
        }
    }

    private static double Ratio(double part, double whole) => whole == 0 ? double.NaN : part / whole;
}
