namespace ModelDsl.Runtime.Sweeps;

/// <summary>
/// A constrained fit of L(k) = alpha k^-B + beta and whether it can be trusted. Problems lists why
/// not (empty when Reliable): too few points, a parameter on its bound, or large residuals.
/// Speedups are only read from a reliable fit.
/// </summary>
public sealed record ScalingFit(PowerLawFit Fit, bool Reliable, IReadOnlyList<string> Problems, int Points, double RelativeRmsResidual);

/// <summary>
/// The data-scaling law of "Fantastic Pretraining Optimizers" (arXiv 2509.02046, §4) fitted under the
/// constraints that make it a law: B in (0, MaxExponent], alpha >= 0, and a loss floor
/// 0 &lt;= beta &lt; the lowest observed loss (a floor above an observed loss, or a negative one, is
/// the fit bending to noise). For a fixed B the least-squares (alpha, beta) is linear; with beta
/// outside its interval the optimum of the convex two-variable problem lies on the violated bound, so
/// beta is clamped and alpha refitted. B is scanned on a log grid and refined by golden section.
/// </summary>
public static class ConstrainedPowerLawFit
{
    public const double MinExponent = 1e-3;
    public const double MaxExponent = PowerLawFit.MaxExponent;
    /// <summary>Fewer points than this leave no degree of freedom to judge a three-parameter fit.</summary>
    public const int MinPoints = 4;
    /// <summary>RMS residual above this fraction of the observed loss range: the law does not describe the data.</summary>
    public const double MaxRelativeRmsResidual = 0.05;

    public static ScalingFit Fit(IReadOnlyList<double> ratios, IReadOnlyList<double> losses)
    {
        if (ratios.Count != losses.Count) throw new ArgumentException($"{ratios.Count} ratios but {losses.Count} losses");
        if (ratios.Count == 0) throw new ArgumentException("no points to fit");
        if (ratios.Any(k => !(k > 0) || !double.IsFinite(k))) throw new ArgumentException("every ratio must be a positive number");
        if (losses.Any(l => !double.IsFinite(l) || l < 0)) throw new ArgumentException("every loss must be a finite non-negative number");

        var minLoss = losses.Min();
        var betaMax = minLoss - BoundGap(minLoss);
        var logMin = Math.Log(MinExponent);
        var logMax = Math.Log(MaxExponent);
        const int scanPoints = 2000;
        double ExponentAt(int i) => Math.Exp(logMin + (logMax - logMin) * i / (scanPoints - 1));
        double Residual(double b) => AtExponent(ratios, losses, b, betaMax).SumOfSquares;

        var bestIndex = 0;
        var bestResidual = double.PositiveInfinity;
        for (var i = 0; i < scanPoints; i++)
        {
            var r = Residual(ExponentAt(i));
            if (r < bestResidual) (bestResidual, bestIndex) = (r, i);
        }
        var lo = ExponentAt(Math.Max(0, bestIndex - 1));
        var hi = ExponentAt(Math.Min(scanPoints - 1, bestIndex + 1));
        var golden = (Math.Sqrt(5) - 1) / 2;
        var a = hi - golden * (hi - lo);
        var b2 = lo + golden * (hi - lo);
        var fa = Residual(a);
        var fb = Residual(b2);
        for (var iteration = 0; iteration < 200 && hi - lo > 1e-13 * hi; iteration++)
        {
            if (fa < fb) { hi = b2; b2 = a; fb = fa; a = hi - golden * (hi - lo); fa = Residual(a); }
            else { lo = a; a = b2; fa = fb; b2 = lo + golden * (hi - lo); fb = Residual(b2); }
        }
        var refined = AtExponent(ratios, losses, (lo + hi) / 2, betaMax);
        var fit = refined.SumOfSquares <= bestResidual ? refined : AtExponent(ratios, losses, ExponentAt(bestIndex), betaMax);

        var problems = new List<string>();
        var distinct = ratios.Distinct().Count();
        if (distinct < MinPoints)
            problems.Add($"{distinct} distinct ratios; a three-parameter fit needs {MinPoints} or more to be checked against its residuals");
        var range = losses.Max() - minLoss;
        if (!(range > 0)) problems.Add("the loss does not change with the ratio");
        if (fit.Alpha <= 0) problems.Add("alpha = 0: the loss does not fall with more data");
        if (fit.Exponent <= MinExponent * 1.05) problems.Add($"B = {fit.Exponent:G3} sits on its lower bound {MinExponent}");
        if (fit.Exponent >= MaxExponent / 1.05) problems.Add($"B = {fit.Exponent:G3} sits on its upper bound {MaxExponent}");
        var tolerance = 1e-6 * Math.Max(1, minLoss);
        if (fit.Beta <= tolerance) problems.Add($"beta = {fit.Beta:G3} sits on its lower bound 0");
        if (fit.Beta >= betaMax - tolerance) problems.Add($"beta = {fit.Beta:G4} sits on its upper bound (the lowest observed loss {minLoss:G4})");
        var relativeRms = range > 0 ? Math.Sqrt(fit.SumOfSquares / losses.Count) / range : double.NaN;
        if (relativeRms > MaxRelativeRmsResidual)
            problems.Add($"RMS residual is {relativeRms:P0} of the loss range (more than {MaxRelativeRmsResidual:P0})");
        return new ScalingFit(fit, problems.Count == 0, problems, distinct, relativeRms);
    }

    /// <summary>The least-squares alpha >= 0 and beta in [0, betaMax] for a fixed exponent B.</summary>
    public static PowerLawFit AtExponent(IReadOnlyList<double> ratios, IReadOnlyList<double> losses, double exponent, double betaMax)
    {
        var x = ratios.Select(k => Math.Pow(k, -exponent)).ToArray();
        var free = PowerLawFit.LinearPart(ratios, losses, exponent);
        var (alpha, beta) = (free.Alpha, free.Beta);
        if (alpha < 0 || beta < 0 || beta > betaMax)
        {
            // The convex problem's optimum is on the boundary: try each bound of beta (alpha refitted
            // and kept non-negative) and alpha = 0 (beta the clamped mean), keeping the best.
            var candidates = new List<(double Alpha, double Beta)>();
            foreach (var fixedBeta in new[] { 0.0, Math.Max(0, betaMax) })
                candidates.Add((Math.Max(0, AlphaFor(x, losses, fixedBeta)), fixedBeta));
            candidates.Add((0, Math.Clamp(losses.Average(), 0, Math.Max(0, betaMax))));
            (alpha, beta) = candidates.MinBy(c => SumOfSquares(x, losses, c.Alpha, c.Beta));
        }
        return new PowerLawFit(alpha, exponent, beta, SumOfSquares(x, losses, alpha, beta));
    }

    private static double AlphaFor(double[] x, IReadOnlyList<double> losses, double beta)
    {
        double xy = 0, xx = 0;
        for (var i = 0; i < x.Length; i++)
        {
            xy += x[i] * (losses[i] - beta);
            xx += x[i] * x[i];
        }
        return xx > 0 ? xy / xx : 0;
    }

    private static double SumOfSquares(double[] x, IReadOnlyList<double> losses, double alpha, double beta)
    {
        var total = 0.0;
        for (var i = 0; i < x.Length; i++)
        {
            var e = alpha * x[i] + beta - losses[i];
            total += e * e;
        }
        return total;
    }

    /// <summary>beta stays strictly below the lowest loss: a floor equal to an observed loss would give that point infinite k_eff.</summary>
    private static double BoundGap(double minLoss) => 1e-9 * Math.Max(1, Math.Abs(minLoss));
}
