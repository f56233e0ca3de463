using System.Globalization;
using System.Text;
using ModelDsl.Core.Sweeps;
using ModelDsl.Runtime.Runs;

namespace ModelDsl.Runtime.Sweeps;

/// <summary>
/// One arm at one budget: its best run (null when nothing finished), how many runs ended how, and
/// the speedup of its best loss over the baseline's fitted scaling law.
/// SearchComplete is false when the search has points still to run (the best is provisional).
/// EdgeAxes names the axes (of three or more values; two cannot bracket an optimum) on which the best
/// sits at the first or last grid value: the optimum may lie outside the grid, so the arm is tuned
/// only within it (widen that axis to be fair to it).
/// </summary>
/// Widening says per axis what edge widening added; CappedAxes names the axes whose best is still at an
/// edge after the search used every allowed extension there (the cap stopped the search, not the data).
public sealed record ReportCell(string Arm, double? Ratio, RunStoreEntry? Best, bool SearchComplete, int Finished, int Diverged, int Failed,
    int Unfinished, double? EquivalentRatio, double? Speedup, IReadOnlyList<string>? EdgeAxes = null,
    IReadOnlyList<string>? CappedAxes = null, IReadOnlyList<string>? Widening = null);

/// <summary>Everything the report shows; Fit is null (with FitProblem saying why) when speedups cannot be computed.
/// BaselineFit is the constrained fit whenever one could be made, reliable or not (an unreliable one is shown, never used).</summary>
public sealed record SweepReportData(SweepSpec Spec, SweepDirectory Directory, IReadOnlyList<ReportCell> Cells, PowerLawFit? Fit, string? FitProblem,
    ScalingFit? BaselineFit = null)
{
    public string BaselineLabel => Spec.BaselineArm().Label;
}

/// <summary>
/// The report of a sweep from its run store: a markdown table (arm x ratio: best final loss, tuned
/// hyperparameters, speedup) and plots (best final loss against the data ratio; validation loss
/// curves of the best runs, where ranking flips during the schedule show up).
/// </summary>
public static class SweepReport
{
    /// <summary>Reads the sweep folder and writes report.md and plots/; returns what it wrote.</summary>
    public static SweepReportData Write(SweepDirectory directory)
    {
        var data = Build(directory);
        Directory.CreateDirectory(directory.Path);
        var plots = SavePlots(data);
        AtomicFile.WriteAllText(directory.ReportPath, ToMarkdown(data, plots));
        return data;
    }

    public static SweepReportData Build(SweepDirectory directory)
    {
        var spec = directory.LoadSpec();
        if (!File.Exists(directory.DatabasePath)) throw new FileNotFoundException($"{directory.Path}: no run store (index.sqlite); run the sweep first");
        using var store = RunStore.Open(directory.DatabasePath);
        var divergence = new DivergenceRule(spec.DivergenceLoss);

        var cells = new List<ReportCell>();
        foreach (var ratio in spec.Budgets())
            foreach (var arm in spec.Arms)
            {
                var (best, complete, bestPoint, finalArm, widening) = ReplaySearch(arm, ratio, store, divergence);
                var sizes = finalArm.GridSizes;
                // The arm's runs at this budget are those of the searched grid (matched by spec key), so
                // results of an edited sweep's old configurations are not mixed in.
                var runs = GridPoint.All(sizes)
                    .Select(point => store.Find(RunStore.KeyOf(finalArm.Resolve(point.Indices, ratio))))
                    .OfType<RunStoreEntry>().ToList();
                var edgeAxes = bestPoint is null ? [] : finalArm.Axes
                    .Where((axis, i) => sizes[i] >= 3 && (bestPoint[i] == 0 || bestPoint[i] == sizes[i] - 1))
                    .Select(axis => axis.Label).ToList();
                var capped = widening is null ? [] : arm.Axes.Where((axis, i) => widening[i].CapReached).Select(axis => axis.Label).ToList();
                var widened = widening is null ? [] : arm.Axes.Select((axis, i) => (axis, w: widening[i])).Where(p => p.w.Widened)
                    .Select(p => $"{p.axis.Label} +{p.w.Below} below, +{p.w.Above} above").ToList();
                cells.Add(new ReportCell(arm.Label, ratio, best, complete,
                    runs.Count(r => r.Status == RunStoreStatus.Finished), runs.Count(r => r.Status == RunStoreStatus.Diverged),
                    runs.Count(r => r.Status == RunStoreStatus.Failed), runs.Count(r => r.Status == RunStoreStatus.Running), null, null, edgeAxes,
                    capped, widened));
            }

        var (fit, problem, scaling) = FitBaseline(spec, cells);
        if (fit is not null)
            cells = cells.Select(c => c.Best?.ValidationLoss is { } loss && c.Ratio is { } k
                ? c with { EquivalentRatio = fit.EquivalentRatio(loss), Speedup = fit.Speedup(loss, k) }
                : c).ToList();
        return new SweepReportData(spec, directory, cells, fit, problem, scaling);
    }

    /// <summary>
    /// The search's own choice, replayed from the store (ties keep the point the search stood on, so
    /// the best is not simply the lowest loss). When the search has not reached its end, the lowest
    /// finished loss so far is returned with complete = false.
    /// </summary>
    private static (RunStoreEntry? Best, bool Complete, GridPoint? BestPoint, SweepArm FinalArm, IReadOnlyList<AxisWidening>? Widening) ReplaySearch(
        SweepArm arm, double? ratio, RunStore store, DivergenceRule divergence)
    {
        var seen = new Dictionary<string, RunStoreEntry>();
        var latest = arm;
        IReadOnlyList<double> Stored(SweepArm current, IReadOnlyList<GridPoint> points)
        {
            latest = current;
            return points.Select(point =>
            {
                var run = store.Find(RunStore.KeyOf(current.Resolve(point.Indices, ratio)));
                if (run is not { Status: RunStoreStatus.Finished or RunStoreStatus.Diverged }) throw new SearchIncomplete();
                seen[run.Key] = run;
                return run.Status == RunStoreStatus.Finished ? run.ValidationLoss!.Value : double.NaN;
            }).ToList();
        }
        try
        {
            var search = ArmSearch.Run(arm, divergence, Stored);
            var best = search.Outcome.Best is { } point ? seen[RunStore.KeyOf(search.Arm.Resolve(point.Indices, ratio))] : null;
            return (best, true, search.Outcome.Best, search.Arm, search.Widening);
        }
        catch (SearchIncomplete)
        {
            return (seen.Values.Where(r => r.Status == RunStoreStatus.Finished).MinBy(r => r.ValidationLoss), false, null, latest, null);
        }
    }

    private sealed class SearchIncomplete : Exception;

    /// <summary>The constrained fit of the baseline's best losses; speedups only from a reliable one.</summary>
    private static (PowerLawFit? Fit, string? Problem, ScalingFit? Scaling) FitBaseline(SweepSpec spec, IReadOnlyList<ReportCell> cells)
    {
        var baseline = spec.BaselineArm().Label;
        if (spec.Ratios.Count == 0) return (null, "no Chinchilla ratios: speedups need budgets given as ratios", null);
        var points = cells.Where(c => c.Arm == baseline && c.Ratio is not null && c.Best?.ValidationLoss is not null)
            .Select(c => (K: c.Ratio!.Value, L: c.Best!.ValidationLoss!.Value)).ToList();
        if (points.Count < 3)
            return (null, $"the baseline '{baseline}' has best losses at {points.Count} ratio(s); the fit L(k) = alpha k^-B + beta needs 3 or more", null);
        var scaling = ConstrainedPowerLawFit.Fit(points.Select(p => p.K).ToList(), points.Select(p => p.L).ToList());
        if (!scaling.Reliable)
            return (null, $"the baseline '{baseline}' fit is unreliable ({string.Join("; ", scaling.Problems)})", scaling);
        return (scaling.Fit, null, scaling);
    }

    public static string ToMarkdown(SweepReportData data, IReadOnlyList<string>? plots = null)
    {
        var text = new StringBuilder();
        var spec = data.Spec;
        text.AppendLine($"# Sweep `{spec.Name}`").AppendLine();
        text.AppendLine("Metric: held-out loss at the end of each run's budget (lower is better). " +
                        (spec.Ratios.Count > 0 ? "Budgets: D = ratio x 20 x N non-embedding parameters. " : "") +
                        $"Divergence: final loss >= {Number(spec.DivergenceLoss)} or not finite.").AppendLine();
        foreach (var arm in spec.Arms)
        {
            var search = arm.Search switch
            {
                CoordinateDescentSearch cd => $"coordinate descent (tie threshold {Number(cd.TieThreshold)})",
                _ => "grid",
            };
            var axes = arm.Axes.Count == 0 ? "no axes" : string.Join("; ", arm.Axes.Select(a => $"{a.Label} ({a.Path}) in {{{string.Join(", ", a.Values.Select(Number))}}}"));
            if (arm.Search is CoordinateDescentSearch { MaxEdgeExtensions: > 0 } widening)
                search += $", widening an axis at its edge up to {widening.MaxEdgeExtensions} times per side";
            text.AppendLine($"- `{arm.Label}`: {search} over {axes}");
        }
        text.AppendLine();
        if (data.Fit is { } fit)
            text.AppendLine($"Baseline `{data.BaselineLabel}`: L(k) = {Number(fit.Alpha)} k^-{Number(fit.Exponent)} + {Number(fit.Beta)} " +
                            $"(least squares with B > 0, 0 <= beta < the lowest loss; residual sum of squares {fit.SumOfSquares.ToString("G3", CultureInfo.InvariantCulture)}, " +
                            $"RMS residual {Number(100 * data.BaselineFit!.RelativeRmsResidual)}% of the loss range). " +
                            "Speedup = k_eff / k with k_eff = ((L - beta) / alpha)^(-1/B), the baseline data ratio that reaches loss L.").AppendLine();
        else
        {
            if (data.BaselineFit is { } unreliable)
                text.AppendLine($"Baseline `{data.BaselineLabel}` fit (unreliable, not used): L(k) = {Number(unreliable.Fit.Alpha)} k^-{Number(unreliable.Fit.Exponent)} + " +
                                $"{Number(unreliable.Fit.Beta)}.").AppendLine();
            text.AppendLine($"No speedups: {data.FitProblem}.").AppendLine();
        }

        text.AppendLine($"| arm | ratio | best loss | hyperparameters | speedup vs {data.BaselineLabel} | finished | diverged | failed | unfinished |");
        text.AppendLine("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var c in data.Cells)
        {
            var loss = c.Best?.ValidationLoss is { } l ? l.ToString("F4", CultureInfo.InvariantCulture) + (c.SearchComplete ? "" : " (search unfinished)") : "-";
            var values = c.Best is { } best ? best.DescribeValues() : "-";
            if (c.CappedAxes is { Count: > 0 } capped) values += $" (at grid edge after the widening cap: {string.Join(", ", capped)})";
            var uncapped = (c.EdgeAxes ?? []).Except(c.CappedAxes ?? []).ToList();
            if (uncapped.Count > 0) values += $" (at grid edge: {string.Join(", ", uncapped)})";
            if (c.Widening is { Count: > 0 } widened) values += $" (widened: {string.Join("; ", widened)})";
            var speedup = c.Speedup is { } s ? (double.IsPositiveInfinity(s) ? "beyond fit" : s.ToString("F2", CultureInfo.InvariantCulture) + "x") : "-";
            var ratio = c.Ratio is { } r ? Number(r) + "x" : "base";
            text.AppendLine($"| {c.Arm} | {ratio} | {loss} | {values} | {speedup} | {c.Finished} | {c.Diverged} | {c.Failed} | {c.Unfinished} |");
        }
        if (data.Cells.Any(c => c.EdgeAxes is { Count: > 0 }))
            text.AppendLine().AppendLine("\"At grid edge\": the best value of that axis is the first or last of its grid, so the optimum may lie " +
                                         "outside it and the arm is tuned only within the grid; widen that axis before trusting its speedup." +
                                         (data.Cells.Any(c => c.CappedAxes is { Count: > 0 })
                                             ? " \"After the widening cap\": the search extended that edge as often as allowed and the best is still on it."
                                             : ""));
        if (plots is { Count: > 0 })
        {
            text.AppendLine();
            foreach (var plot in plots)
                text.AppendLine($"![{Path.GetFileNameWithoutExtension(plot)}]({Path.GetRelativePath(data.Directory.Path, plot).Replace('\\', '/')})");
        }
        return text.ToString();
    }

    /// <summary>plots/final-loss.png and plots/validation-&lt;budget&gt;.png; returns the files written.</summary>
    public static IReadOnlyList<string> SavePlots(SweepReportData data)
    {
        Directory.CreateDirectory(data.Directory.PlotsPath);
        var written = new List<string>();
        if (data.Cells.Any(c => c.Ratio is not null && c.Best?.ValidationLoss is not null))
            written.Add(SaveFinalLossPlot(data));
        foreach (var ratio in data.Spec.Budgets())
            if (SaveCurvesPlot(data, ratio) is { } path) written.Add(path);
        return written;
    }

    private static string SaveFinalLossPlot(SweepReportData data)
    {
        var plot = new ScottPlot.Plot();
        foreach (var arm in data.Spec.Arms)
        {
            var points = data.Cells.Where(c => c.Arm == arm.Label && c.Ratio is not null && c.Best?.ValidationLoss is not null)
                .OrderBy(c => c.Ratio).ToList();
            if (points.Count == 0) continue;
            var scatter = plot.Add.Scatter(points.Select(c => Math.Log2(c.Ratio!.Value)).ToArray(), points.Select(c => c.Best!.ValidationLoss!.Value).ToArray());
            scatter.LegendText = arm.Label;
            scatter.MarkerSize = 8;
        }
        if (data.Fit is { } fit)
        {
            var ratios = data.Spec.Ratios;
            var lo = Math.Log2(ratios.Min());
            var hi = Math.Log2(ratios.Max());
            var xs = Enumerable.Range(0, 50).Select(i => lo + (hi - lo) * i / 49).ToArray();
            var curve = plot.Add.Scatter(xs, xs.Select(x => fit.Predict(Math.Pow(2, x))).ToArray());
            curve.LegendText = $"{data.BaselineLabel} fit";
            curve.MarkerSize = 0;
            curve.LinePattern = ScottPlot.LinePattern.Dashed;
        }
        // Ratios double from one budget to the next: a log2 axis labelled with the ratios themselves.
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            LabelFormatter = x => Math.Pow(2, x).ToString("G3", CultureInfo.InvariantCulture) + "x",
        };
        plot.XLabel("data budget (x Chinchilla, log scale)");
        plot.YLabel("final validation loss");
        plot.Title($"{data.Spec.Name}: best final loss per arm");
        plot.ShowLegend();
        var path = Path.Combine(data.Directory.PlotsPath, "final-loss.png");
        plot.SavePng(path, 800, 500);
        return path;
    }

    private static string? SaveCurvesPlot(SweepReportData data, double? ratio)
    {
        var plot = new ScottPlot.Plot();
        var any = false;
        foreach (var cell in data.Cells.Where(c => c.Ratio == ratio && c.Best is not null))
        {
            var metrics = Path.Combine(cell.Best!.RunDirectory, "metrics.jsonl");
            if (!File.Exists(metrics)) continue;
            var evals = MetricsLog.Read(metrics).Where(e => (string?)e["event"] == "eval")
                .Select(e => (Step: e["step"]!.GetValue<long>(), Loss: ReadDouble(e["validationLoss"])))
                .Where(p => double.IsFinite(p.Loss)).ToList();
            if (evals.Count == 0) continue;
            var scatter = plot.Add.Scatter(evals.Select(p => (double)p.Step).ToArray(), evals.Select(p => p.Loss).ToArray());
            scatter.LegendText = $"{cell.Arm} ({cell.Best.DescribeValues()})";
            scatter.MarkerSize = 5;
            any = true;
        }
        if (!any) return null;
        plot.XLabel("step");
        plot.YLabel("validation loss");
        plot.Title($"{data.Spec.Name}: validation loss of the best runs, {SweepDirectory.BudgetLabel(ratio)}");
        plot.ShowLegend();
        var path = Path.Combine(data.Directory.PlotsPath, $"validation-{SweepDirectory.BudgetLabel(ratio)}.png");
        plot.SavePng(path, 800, 500);
        return path;
    }

    // Non-finite metrics are written as strings ("NaN") by MetricsLog.
    private static double ReadDouble(System.Text.Json.Nodes.JsonNode? node) =>
        node is null ? double.NaN
        : node.GetValueKind() == System.Text.Json.JsonValueKind.String ? double.Parse(node.GetValue<string>(), CultureInfo.InvariantCulture)
        : node.GetValue<double>();

    private static string Number(double x) => x.ToString("G5", CultureInfo.InvariantCulture);
}
