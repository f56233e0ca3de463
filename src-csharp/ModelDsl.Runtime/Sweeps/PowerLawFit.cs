namespace ModelDsl.Runtime.Sweeps;

/// <summary>
/// The data-scaling law L(k) = Alpha * k^(-Exponent) + Beta fitted by least squares to a baseline's
/// final losses at data ratios k, and the speedup it implies for another loss ("Fantastic
/// Pretraining Optimizers", arXiv 2509.02046, §4): k_eff = ((L - Beta) / Alpha)^(-1/Exponent) is
/// the ratio the baseline would need to reach L; speedup = k_eff / k.
/// </summary>
public sealed record PowerLawFit(double Alpha, double Exponent, double Beta, double SumOfSquares)
{
    /// <summary>Largest exponent searched; a loss that falls faster than k^-10 is not a scaling law.</summary>
    public const double MaxExponent = 10;

    public double Predict(double k) => Alpha * Math.Pow(k, -Exponent) + Beta;

    /// <summary>The baseline data ratio that reaches <paramref name="loss"/>; infinity when the loss
    /// lies at or below the fitted floor Beta (no amount of baseline data reaches it).</summary>
    public double EquivalentRatio(double loss)
    {
        if (!double.IsFinite(loss)) return double.NaN;
        var excess = (loss - Beta) / Alpha;
        return excess <= 0 ? double.PositiveInfinity : Math.Pow(excess, -1 / Exponent);
    }

    public double Speedup(double loss, double ratio) => EquivalentRatio(loss) / ratio;

    /// <summary>
    /// Least squares over (Alpha, Exponent, Beta). For a fixed exponent the model is linear in Alpha
    /// and Beta, so those have a closed form; the remaining one-dimensional residual is scanned on a
    /// log grid of exponents and refined by golden-section search around the best grid cell.
    /// </summary>
    public static PowerLawFit Fit(IReadOnlyList<double> ratios, IReadOnlyList<double> losses)
    {
        if (ratios.Count != losses.Count) throw new ArgumentException($"{ratios.Count} ratios but {losses.Count} losses");
        if (ratios.Distinct().Count() < 3)
            throw new ArgumentException($"fitting alpha, B and beta needs losses at 3 or more distinct ratios, got {ratios.Distinct().Count()}");
        if (ratios.Any(k => !(k > 0) || !double.IsFinite(k))) throw new ArgumentException("every ratio must be a positive number");
        if (losses.Any(l => !double.IsFinite(l))) throw new ArgumentException("every loss must be a finite number");

        const int scanPoints = 4000;
        const double minExponent = 1e-4;
        var logMin = Math.Log(minExponent);
        var logMax = Math.Log(MaxExponent);
        double ExponentAt(int i) => Math.Exp(logMin + (logMax - logMin) * i / (scanPoints - 1));
        var bestIndex = 0;
        var bestResidual = double.PositiveInfinity;
        for (var i = 0; i < scanPoints; i++)
        {
            var residual = LinearPart(ratios, losses, ExponentAt(i)).SumOfSquares;
            if (residual < bestResidual) (bestResidual, bestIndex) = (residual, i);
        }
        // Golden section on the bracket of grid neighbours around the best scanned exponent.
        var lo = ExponentAt(Math.Max(0, bestIndex - 1));
        var hi = ExponentAt(Math.Min(scanPoints - 1, bestIndex + 1));
        var ratio = (Math.Sqrt(5) - 1) / 2;
        var a = hi - ratio * (hi - lo);
        var b = lo + ratio * (hi - lo);
        var fa = LinearPart(ratios, losses, a).SumOfSquares;
        var fb = LinearPart(ratios, losses, b).SumOfSquares;
        for (var iteration = 0; iteration < 200 && hi - lo > 1e-13 * hi; iteration++)
        {
            if (fa < fb) { hi = b; b = a; fb = fa; a = hi - ratio * (hi - lo); fa = LinearPart(ratios, losses, a).SumOfSquares; }
            else { lo = a; a = b; fa = fb; b = lo + ratio * (hi - lo); fb = LinearPart(ratios, losses, b).SumOfSquares; }
        }
        var exponent = (lo + hi) / 2;
        var fit = LinearPart(ratios, losses, exponent);
        return fit.SumOfSquares <= bestResidual ? fit : LinearPart(ratios, losses, ExponentAt(bestIndex));
    }

    /// <summary>Ordinary least squares of L on x = k^-exponent: Alpha = cov(x, L) / var(x), Beta = mean(L) - Alpha mean(x).</summary>
    public static PowerLawFit LinearPart(IReadOnlyList<double> ratios, IReadOnlyList<double> losses, double exponent)
    {
        var x = ratios.Select(k => Math.Pow(k, -exponent)).ToArray();
        var meanX = x.Average();
        var meanL = losses.Average();
        double covariance = 0, variance = 0;
        for (var i = 0; i < x.Length; i++)
        {
            covariance += (x[i] - meanX) * (losses[i] - meanL);
            variance += (x[i] - meanX) * (x[i] - meanX);
        }
        var alpha = variance > 0 ? covariance / variance : 0;
        var beta = meanL - alpha * meanX;
        var residual = 0.0;
        for (var i = 0; i < x.Length; i++)
        {
            var e = alpha * x[i] + beta - losses[i];
            residual += e * e;
        }
        return new PowerLawFit(alpha, exponent, beta, residual);
    }
}
