using System.Globalization;

namespace ModelDsl.Runtime.Eval;

/// <summary>Figures of a sampling evaluation: pass@k curves of several models, and the histogram of rho_x.</summary>
public static class SamplingPlots
{
    /// <summary>pass@k against k (log2 axis), one curve per model, on one figure.</summary>
    public static void SavePassAtK(string path, IReadOnlyList<(string Label, IReadOnlyList<(int K, double PassAtK)> Points)> models)
    {
        var plot = new ScottPlot.Plot();
        foreach (var (label, points) in models)
        {
            if (points.Count == 0) continue;
            var ordered = points.OrderBy(p => p.K).ToArray();
            var scatter = plot.Add.Scatter(ordered.Select(p => Math.Log2(p.K)).ToArray(), ordered.Select(p => p.PassAtK).ToArray());
            scatter.LegendText = label;
            scatter.MarkerSize = 6;
        }
        // ScottPlot 5 draws log axes by plotting log2 k and labelling ticks with 2^x.
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            LabelFormatter = x => Math.Pow(2, x).ToString("G3", CultureInfo.InvariantCulture),
        };
        plot.Axes.SetLimitsY(0, 1.02);
        plot.XLabel("k (log scale)");
        plot.YLabel("pass@k");
        plot.ShowLegend();
        Save(plot, path);
    }

    /// <summary>The histogram of per-problem pass@1 (<see cref="PassRateStatistics.Histogram"/>) as bars over [0, 1].</summary>
    public static void SavePassRateHistogram(string path, PassRateStatistics statistics, string title = "")
    {
        var plot = new ScottPlot.Plot();
        var bins = statistics.Histogram.Count;
        var width = 1.0 / bins;
        var bars = statistics.Histogram.Select((count, i) => new ScottPlot.Bar
        {
            Position = (i + 0.5) * width,
            Value = count,
            Size = width * 0.9,
        }).ToArray();
        plot.Add.Bars(bars);
        plot.XLabel("per-problem pass@1 (rho)");
        plot.YLabel("problems");
        plot.Title(string.IsNullOrEmpty(title)
            ? $"mean {statistics.Mean.ToString("F3", CultureInfo.InvariantCulture)}, variance {statistics.Variance.ToString("F4", CultureInfo.InvariantCulture)}"
            : title);
        Save(plot, path);
    }

    private static void Save(ScottPlot.Plot plot, string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        plot.SavePng(path, 800, 500);
    }
}
