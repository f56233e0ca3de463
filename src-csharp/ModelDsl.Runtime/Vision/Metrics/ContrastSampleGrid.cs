using System.Globalization;

namespace ModelDsl.Runtime.Vision;

/// <summary>One model's scores on the pairs of a <see cref="ContrastSampleGrid"/>, in the pairs' order.</summary>
public sealed record ContrastSampleModel(string Name, IReadOnlyList<ContrastScores> Scores);

/// <summary>
/// A PNG of a few contrast pairs: each row draws the two scenes side by side, scaled up, and lists
/// for every model the caption it prefers given each image (the caption of that image or of the other
/// one), marked right or wrong.
/// </summary>
public static class ContrastSampleGrid
{
    private const int Scale = 3;          // pixels per scene pixel
    private const int Gap = 4;            // scene pixels between the two images
    private const int LineHeight = 6;     // scene-pixel units per text line
    private const int TextWidth = 250;    // scene-pixel units for the captions

    public static void Save(string path, IReadOnlyList<ContrastPair> pairs, IReadOnlyList<ContrastSampleModel> models, string title)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentNullException.ThrowIfNull(models);
        if (pairs.Count == 0) throw new ArgumentException("the grid needs at least one pair", nameof(pairs));
        foreach (var m in models)
            if (m.Scores.Count < pairs.Count) throw new ArgumentException($"model '{m.Name}' has {m.Scores.Count} scores for {pairs.Count} pairs");
        var size = SceneRenderer.ImageSize;
        var rowHeight = Math.Max(size, LineHeight * (models.Count + 1)) + 2 * Gap;
        var width = 2 * size + Gap + 2 + TextWidth;
        var height = rowHeight * pairs.Count;
        var plot = new ScottPlot.Plot();
        for (var r = 0; r < pairs.Count; r++)
        {
            var pair = pairs[r];
            var top = -(double)r * rowHeight - Gap;
            DrawScene(plot, pair.Winner, 0, top);
            DrawScene(plot, pair.Loser, size + Gap, top);
            var x = 2 * size + Gap + 3;
            Text(plot, $"{pair.Kind}: left \"{SceneText.CaptionWords(pair.Winner)}\" | right \"{SceneText.CaptionWords(pair.Loser)}\"", x, top, ScottPlot.Colors.Black);
            for (var m = 0; m < models.Count; m++)
            {
                var s = models[m].Scores[r];
                var left = s.WinnerImageRight ? pair.Winner : pair.Loser;
                var right = s.LoserImageRight ? pair.Loser : pair.Winner;
                var color = s.WinnerImageRight && s.LoserImageRight ? ScottPlot.Colors.DarkGreen : ScottPlot.Colors.DarkRed;
                Text(plot, $"{models[m].Name}: left {Mark(s.WinnerImageRight)} \"{SceneText.CaptionWords(left)}\" | right {Mark(s.LoserImageRight)} \"{SceneText.CaptionWords(right)}\"",
                    x, top - LineHeight * (m + 1), color);
            }
        }
        plot.Axes.SetLimits(0, width, -height, 0);
        plot.HideGrid();
        plot.Layout.Frameless();
        plot.Title(title);
        plot.SavePng(path, width * Scale, height * Scale + 40);
    }

    private static string Mark(bool right) => right ? "[ok]" : "[x]";

    private static void Text(ScottPlot.Plot plot, string text, double x, double y, ScottPlot.Color color)
    {
        var label = plot.Add.Text(text, x, y);
        label.LabelAlignment = ScottPlot.Alignment.UpperLeft;
        label.LabelFontSize = 11;
        label.LabelFontColor = color;
    }

    /// <summary>The scene's pixels as filled unit squares (black background, one square per lit pixel), top-left at (left, top).</summary>
    private static void DrawScene(ScottPlot.Plot plot, Scene scene, double left, double top)
    {
        var size = SceneRenderer.ImageSize;
        var background = plot.Add.Rectangle(left, left + size, top - size, top);
        background.FillColor = ScottPlot.Colors.Black;
        background.LineWidth = 0;
        var pixels = SceneRenderer.Render(scene);
        var plane = size * size;
        for (var y = 0; y < size; y++)
            for (var x = 0; x < size; x++)
            {
                var p = y * size + x;
                var (red, green, blue) = (pixels[p], pixels[plane + p], pixels[2 * plane + p]);
                if (red == 0 && green == 0 && blue == 0) continue;
                var square = plot.Add.Rectangle(left + x, left + x + 1, top - y - 1, top - y);
                square.FillColor = new ScottPlot.Color((byte)(255 * red), (byte)(255 * green), (byte)(255 * blue));
                square.LineWidth = 0;
            }
    }
}
