using System.Globalization;
using System.Text;

namespace ModelDsl.Runtime.Studies;

/// <summary>One line of a plot: points (X[i], Y[i]); non-finite points are left out.</summary>
public sealed record PlotSeries(string Label, double[] X, double[] Y);

/// <summary>A study's report: report.md with tables and PNG plots (ScottPlot) beside it.</summary>
public sealed class StudyReport(string folder, string title)
{
    private readonly StringBuilder markdown = new($"# {title}\n\n");

    public string Folder => folder;
    public string MarkdownPath => Path.Combine(folder, "report.md");

    public StudyReport Paragraph(string text)
    {
        markdown.Append(text).Append("\n\n");
        return this;
    }

    public StudyReport Table(IReadOnlyList<string> header, IEnumerable<string[]> rows)
    {
        markdown.Append("| ").Append(string.Join(" | ", header)).Append(" |\n|");
        markdown.Append(string.Concat(header.Select(_ => "---|"))).Append('\n');
        foreach (var row in rows) markdown.Append("| ").Append(string.Join(" | ", row)).Append(" |\n");
        markdown.Append('\n');
        return this;
    }

    /// <summary>A line plot of several series saved as fileName and linked from the report.</summary>
    public StudyReport Plot(string fileName, string caption, string xLabel, string yLabel, IEnumerable<PlotSeries> series, bool log2X = false)
    {
        var plot = new ScottPlot.Plot();
        foreach (var line in series)
        {
            if (line.X.Length != line.Y.Length)
                throw new ArgumentException($"plot series '{line.Label}' has {line.X.Length} x values and {line.Y.Length} y values");
            var kept = line.X.Zip(line.Y).Where(p => double.IsFinite(p.First) && double.IsFinite(p.Second) && (!log2X || p.First > 0)).ToArray();
            if (kept.Length == 0) continue;
            var scatter = plot.Add.Scatter(kept.Select(p => log2X ? Math.Log2(p.First) : p.First).ToArray(), kept.Select(p => p.Second).ToArray());
            scatter.LegendText = line.Label;
        }
        if (log2X)
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
            {
                LabelFormatter = x => "2^" + x.ToString("G3", CultureInfo.InvariantCulture),
            };
        plot.Title(caption);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend();
        plot.SavePng(Path.Combine(folder, fileName), 800, 500);
        markdown.Append($"![{caption}]({fileName})\n\n");
        return this;
    }

    public static string Number(double x, string format = "G3") =>
        double.IsNaN(x) ? "-" : x.ToString(format, CultureInfo.InvariantCulture);

    public string Save()
    {
        File.WriteAllText(MarkdownPath, markdown.ToString());
        return MarkdownPath;
    }
}
