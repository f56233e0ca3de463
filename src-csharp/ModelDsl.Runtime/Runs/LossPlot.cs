namespace ModelDsl.Runtime.Runs;

/// <summary>plots/loss.png: training and validation loss against the optimizer step, log-scaled loss axis.</summary>
public static class LossPlot
{
    public static void Save(string path, IReadOnlyList<(long Step, double Loss)> train, IReadOnlyList<(long Step, double Loss)> validation)
    {
        var plot = new ScottPlot.Plot();
        // ScottPlot 5 draws log axes by plotting log10 of the data and labelling ticks with 10^y.
        AddSeries(plot, train, "train");
        AddSeries(plot, validation, "validation", markers: true);
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            LabelFormatter = y => Math.Pow(10, y).ToString("G3", System.Globalization.CultureInfo.InvariantCulture),
        };
        plot.XLabel("step");
        plot.YLabel("loss (log scale)");
        plot.ShowLegend();
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        plot.SavePng(path, 800, 500);
    }

    private static void AddSeries(ScottPlot.Plot plot, IReadOnlyList<(long Step, double Loss)> points, string label, bool markers = false)
    {
        var kept = points.Where(p => p.Loss > 0 && double.IsFinite(p.Loss)).ToArray();
        if (kept.Length == 0) return;
        var scatter = plot.Add.Scatter(kept.Select(p => (double)p.Step).ToArray(), kept.Select(p => Math.Log10(p.Loss)).ToArray());
        scatter.LegendText = label;
        scatter.MarkerSize = markers ? 6 : 0;
    }
}
