using System.Globalization;

namespace ModelDsl.Runtime.FineTune;

/// <summary>
/// The perturbation-sensitivity figure (PAPERS.md §6): mean held-out loss increase against gamma, one
/// curve per model (e.g. per pre-training budget), on one figure.
/// </summary>
public static class PerturbationPlot
{
    public static void Save(string path, IReadOnlyList<(string Label, PerturbationSensitivityResult Result)> models)
    {
        var plot = new ScottPlot.Plot();
        foreach (var (label, result) in models)
        {
            var points = result.Points.OrderBy(p => p.Gamma).ToArray();
            if (points.Length == 0) continue;
            var scatter = plot.Add.Scatter(points.Select(p => p.Gamma).ToArray(), points.Select(p => p.MeanIncrease).ToArray());
            scatter.LegendText = label;
            scatter.MarkerSize = 6;
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            LabelFormatter = x => x.ToString("G3", CultureInfo.InvariantCulture),
        };
        plot.XLabel("gamma (noise scale, in units of the init std)");
        plot.YLabel("held-out loss increase");
        plot.ShowLegend();
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        plot.SavePng(path, 800, 500);
    }
}
