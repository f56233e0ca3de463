using ModelDsl.Runtime.Layers;
using ModelDsl.Runtime.Parameters;
using static TorchSharp.torch;
using ModelDsl.Runtime.Variants;
using TorchSharp;
using static ModelDsl.Runtime.Layers.HeldScalars;

namespace ModelDsl.Runtime.Optim;

/// <summary>
/// PSGD Kron (Li 2018; the kron_torch formulation). Every parameter is viewed as a matrix X of shape
/// [rows, cols] (vectors as [1, n]) with preconditioner P = Q^T Q, Q = Q1 (x) Q0 acting as
/// Q X = Q0 X Q1^T. A factor is upper triangular, or diagonal when its side exceeds MaxTriangularDim
/// or the parameter is a vector. Momentum m = b1 m + (1-b1) g, debiased; u = Q0^T Q0 mhat Q1^T Q1 with
/// RMS clipped to 1.1. The factors are fitted to mhat with probability p(step): 1 for the first
/// FlatStart steps, then exp(-ProbabilityDecay (step - FlatStart)), floored at MinUpdateProbability;
/// the draw is a hash of the step, so a resumed run makes the same draws. The fit: A = Q mhat,
/// B = Q^{-T} V for V ~ N(0, I); Q_i -= lr_p triu(A A^T - B B^T) / ||A A^T + B B^T|| Q_i per side
/// (the norm a lower bound of the spectral norm; diagonal factors use the max norm).
/// </summary>
[Implements(typeof(Core.Training.Kron))]
public sealed class KronOptimizer(Core.Training.Kron spec, IReadOnlyList<NamedParameter> parameters, double? clipGradNorm)
    : OptimizerBase(spec.Lr, spec.WeightDecay, clipGradNorm,
        parameters.Select(p => new ParameterSlot(p, "kron", 1.0, p.Role.Decayed(), clipped: true)))
{
    private static readonly Scalar Tiny = 1e-30, MaxUpdateRms = 1.1, RmsEps = 1e-6, MaxUpdateScale = 1.0;
    private readonly Scalar decay1 = spec.Beta1, weight1 = 1 - spec.Beta1, preconditionerLr = spec.PreconditionerLr;

    /// <summary>The probability of refitting the preconditioner at step t (1-based).</summary>
    public double UpdateProbability(long t) =>
        t <= spec.FlatStart ? 1.0 : Math.Max(spec.MinUpdateProbability, Math.Exp(-spec.ProbabilityDecay * (t - spec.FlatStart)));

    protected override Tensor Direction(ParameterSlot slot, Tensor gradient, long t)
    {
        var asMatrix = gradient.dim() >= 2 ? gradient.reshape(gradient.shape[0], -1) : gradient.reshape(1, -1);
        var triangular = gradient.dim() >= 2
            ? new[] { asMatrix.shape[0] <= spec.MaxTriangularDim, asMatrix.shape[1] <= spec.MaxTriangularDim }
            : [false, false];
        var initScale = Math.Sqrt(spec.PreconditionerInitScale);
        var q0 = slot.StateOr("Q0", () => Factor(asMatrix.shape[0], triangular[0], initScale, asMatrix));
        var q1 = slot.StateOr("Q1", () => Factor(asMatrix.shape[1], triangular[1], initScale, asMatrix));

        var m = slot.StateOr("m", () => zeros_like(asMatrix));
        m.mul_(decay1).add_(asMatrix, weight1);
        using var firstCorrection = (1 - Math.Pow(spec.Beta1, t)).ToScalar();
        var mHat = m.div(firstCorrection);

        if (t == 1 || Uniform(slot.Name, t) < UpdateProbability(t))
        {
            using var generator = new Generator(Seed(slot.Name, t));
            var probe = randn(mHat.shape, ScalarType.Float64, generator: generator).to(mHat.dtype, mHat.device);
            Fit(q0, q1, mHat, probe);
        }
        var u = LeftMultiply(q0, LeftMultiply(q0, mHat, transpose: false), transpose: true);
        u = RightMultiply(RightMultiply(u, q1, transpose: true), q1, transpose: false);
        var rms = u.Squared().mean().sqrt();
        // MaxUpdateRms / (rms + 1e-6), which TorchSharp computes as a reciprocal times the number.
        u = u * rms.add(RmsEps, One).reciprocal().mul(MaxUpdateRms).clamp_max(MaxUpdateScale);
        return u.reshape(gradient.shape);
    }

    private static Tensor Factor(long size, bool triangular, double scale, Tensor like)
    {
        using var held = scale.ToScalar();
        return (triangular ? eye(size, dtype: like.dtype, device: like.device) : ones(size, dtype: like.dtype, device: like.device)).mul(held);
    }

    /// <summary>One step of PSGD's fit of Q to (V, mhat); updates the factors in place.</summary>
    private void Fit(Tensor q0, Tensor q1, Tensor mHat, Tensor probe)
    {
        var a = RightMultiply(LeftMultiply(q0, mHat, transpose: false), q1, transpose: true);
        // B = Q0^{-T} V Q1^{-1}.
        var b = q1.dim() == 2
            ? linalg.solve_triangular(q1, probe, upper: true, left: false)
            : probe / q1.unsqueeze(0);
        b = q0.dim() == 2
            ? linalg.solve_triangular(q0.t(), b, upper: false, left: true)
            : b / q0.unsqueeze(1);
        // Only triangular factors use the Gram matrices (symmetric: half their blocks are mirrored).
        UpdateFactor(q0, q0.dim() == 2 ? SymmetricProducts.Gram(a) : null, q0.dim() == 2 ? SymmetricProducts.Gram(b) : null,
            a.Squared().sum(1), b.Squared().sum(1));
        // 0L, not 0: a literal 0 converts to ScalarType, and sum(ScalarType.Byte) would sum everything as bytes.
        UpdateFactor(q1, q1.dim() == 2 ? SymmetricProducts.Gram(a.t()) : null, q1.dim() == 2 ? SymmetricProducts.Gram(b.t()) : null,
            a.Squared().sum(0L), b.Squared().sum(0L));
    }

    private void UpdateFactor(Tensor q, Tensor? aGram, Tensor? bGram, Tensor aDiagonal, Tensor bDiagonal)
    {
        if (q.dim() < 2)
        {
            var difference = aDiagonal - bDiagonal;
            var norm = aDiagonal.add(bDiagonal, One).abs().max().clamp_min(Tiny);
            q.sub_((difference * q / norm).mul(preconditionerLr));
            return;
        }
        var gradient = (aGram! - bGram!).triu();
        var sum = aGram!.add(bGram!, One);
        var bound = SpectralNormLowerBound(sum).clamp_min(Tiny);
        q.sub_((TriangularProducts.UpperTimesUpper(gradient, q) / bound).mul(preconditionerLr));
    }

    /// <summary>A cheap lower bound of the spectral norm of a symmetric matrix: one power step from its largest column.
    /// Zero for a zero matrix, without reading a value back to the host (the divisions are guarded by Tiny instead).</summary>
    private static Tensor SpectralNormLowerBound(Tensor s)
    {
        var maxAbs = s.abs().max();
        var scaled = s / maxAbs.clamp_min(Tiny);
        var column = scaled.Squared().sum(0L).argmax();
        var x = scaled.index_select(1, column.reshape(1)).reshape(-1);
        x = scaled.t().matmul(x);
        x = x / x.norm().clamp_min(Tiny);
        return scaled.matmul(x).norm() * maxAbs;
    }

    /// <summary>Q X or Q^T X; a triangular factor skips its zero blocks (<see cref="TriangularProducts"/>).</summary>
    private static Tensor LeftMultiply(Tensor q, Tensor x, bool transpose) =>
        q.dim() < 2 ? x * q.unsqueeze(1)
        : transpose ? TriangularProducts.UpperTransposedTimes(q, x) : TriangularProducts.UpperTimes(q, x);

    /// <summary>X Q^T = (Q X^T)^T or X Q = (Q^T X^T)^T.</summary>
    private static Tensor RightMultiply(Tensor x, Tensor q, bool transpose) =>
        q.dim() < 2 ? x * q.unsqueeze(0)
        : q.shape[0] <= TriangularProducts.DenseUpTo ? x.matmul(transpose ? q.t() : q)
        : (transpose ? TriangularProducts.UpperTimes(q, x.t()) : TriangularProducts.UpperTransposedTimes(q, x.t())).t();

    private static ulong Seed(string name, long t)
    {
        var hash = 1469598103934665603UL;
        foreach (var ch in name) hash = (hash ^ ch) * 1099511628211UL;
        return SplitMix(hash ^ (ulong)t);
    }

    private static double Uniform(string name, long t) => (SplitMix(Seed(name, t) + 1) >> 11) * (1.0 / (1UL << 53));

    private static ulong SplitMix(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}
