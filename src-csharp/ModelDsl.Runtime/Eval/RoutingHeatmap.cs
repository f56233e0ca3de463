namespace ModelDsl.Runtime.Eval;

/// <summary>A domain x expert heat-map of P(expert | domain) for one MoE layer, saved as PNG.</summary>
public static class RoutingHeatmap
{
    public static void Save(string path, LayerRouting routing, string title)
    {
        var domains = routing.DomainCount;
        var experts = routing.ExpertCount;
        var shares = new double[domains, experts];
        for (var d = 0; d < domains; d++)
        {
            var distribution = routing.DomainDistribution(d);
            for (var e = 0; e < experts; e++) shares[d, e] = distribution[e];
        }
        var plot = new ScottPlot.Plot();
        var heatmap = plot.Add.Heatmap(shares);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        // Row 0 of the data is drawn at the top; cells are centred on integer coordinates.
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, experts).Select(e => (double)e).ToArray(),
            Enumerable.Range(0, experts).Select(e => e.ToString()).ToArray());
        plot.Axes.Left.SetTicks(Enumerable.Range(0, domains).Select(d => (double)(domains - 1 - d)).ToArray(),
            routing.Domains.ToArray());
        plot.Add.ColorBar(heatmap).Label = "P(expert | domain)";
        for (var d = 0; d < domains; d++)
            for (var e = 0; e < experts; e++)
            {
                var text = plot.Add.Text(shares[d, e].ToString("0.00", System.Globalization.CultureInfo.InvariantCulture), e, domains - 1 - d);
                text.LabelAlignment = ScottPlot.Alignment.MiddleCenter;
                text.LabelFontColor = shares[d, e] > 0.5 ? ScottPlot.Colors.Black : ScottPlot.Colors.White;
            }
        plot.Title(title);
        plot.XLabel("expert");
        plot.YLabel("domain");
        plot.SavePng(path, 260 + 60 * experts, 160 + 60 * domains);
    }
}
