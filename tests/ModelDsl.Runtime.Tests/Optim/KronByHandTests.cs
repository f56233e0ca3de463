using ModelDsl.Runtime.Optim;
using ModelDsl.Runtime.Parameters;
using static ModelDsl.Runtime.Tests.Optim.OptimTestSupport;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tests.Optim;

/// <summary>
/// PSGD Kron (Li 2018, the kron_torch formulation) over two steps with the preconditioner refitted at
/// both, against the algorithm written out on plain fp64 arrays: A = Q0 mhat Q1^T,
/// B = Q0^{-T} V Q1^{-1} (by back substitution), Q_i -= lr_p triu(A A^T - B B^T) Q_i / bound for a
/// triangular factor, the diagonal of the same for a diagonal one, u = Q0^T Q0 mhat Q1^T Q1 with its
/// RMS capped at 1.1. Only the probe vectors V come from the optimizer's documented draw (a torch
/// normal generator seeded by the parameter's name and the step); every product is computed here.
/// </summary>
public sealed class KronByHandTests
{
    private const double Lr = 0.02, Wd = 0.1, Beta1 = 0.6, PreconditionerLr = 0.3, InitScale = 0.49;

    /// <summary>A factor as a dense matrix; a diagonal factor keeps zeros off its diagonal.</summary>
    private sealed record Factor(double[,] Q, bool Diagonal);

    private static int Rows(double[,] a) => a.GetLength(0);
    private static int Cols(double[,] a) => a.GetLength(1);

    private static double[,] Mul(double[,] a, double[,] b)
    {
        var c = new double[Rows(a), Cols(b)];
        for (var i = 0; i < Rows(a); i++)
            for (var j = 0; j < Cols(b); j++)
                for (var k = 0; k < Cols(a); k++) c[i, j] += a[i, k] * b[k, j];
        return c;
    }

    private static double[,] T(double[,] a)
    {
        var t = new double[Cols(a), Rows(a)];
        for (var i = 0; i < Rows(a); i++)
            for (var j = 0; j < Cols(a); j++) t[j, i] = a[i, j];
        return t;
    }

    private static double[,] Identity(int n, double scale)
    {
        var e = new double[n, n];
        for (var i = 0; i < n; i++) e[i, i] = scale;
        return e;
    }

    /// <summary>The inverse of an upper-triangular matrix by back substitution, column by column.</summary>
    private static double[,] InverseUpper(double[,] u)
    {
        var n = Rows(u);
        var x = new double[n, n];
        for (var col = 0; col < n; col++)
            for (var i = n - 1; i >= 0; i--)
            {
                var s = i == col ? 1.0 : 0.0;
                for (var k = i + 1; k < n; k++) s -= u[i, k] * x[k, col];
                x[i, col] = s / u[i, i];
            }
        return x;
    }

    private static double[,] FromRows(double[] values, int rows, int cols)
    {
        var m = new double[rows, cols];
        for (var i = 0; i < values.Length; i++) m[i / cols, i % cols] = values[i];
        return m;
    }

    private static double[] Flat(double[,] m) => m.Cast<double>().ToArray();

    /// <summary>The optimizer's normaliser for a triangular factor: one power step on S / max|S| from the
    /// column of largest norm, ||S x|| with x = S^T c / ||S^T c|| (a lower bound of S's spectral norm).</summary>
    private static double NormLowerBound(double[,] s)
    {
        var n = Rows(s);
        var maxAbs = Flat(s).Max(Math.Abs);
        var best = Enumerable.Range(0, n).MaxBy(j => Enumerable.Range(0, n).Sum(i => s[i, j] / maxAbs * (s[i, j] / maxAbs)));
        var c = new double[n];
        for (var i = 0; i < n; i++) c[i] = s[i, best] / maxAbs;
        var x = new double[n];
        for (var i = 0; i < n; i++)
            for (var k = 0; k < n; k++) x[i] += s[k, i] / maxAbs * c[k];
        var norm = Math.Sqrt(x.Sum(v => v * v));
        var y = new double[n];
        for (var i = 0; i < n; i++)
            for (var k = 0; k < n; k++) y[i] += s[i, k] / maxAbs * x[k] / norm;
        return Math.Sqrt(y.Sum(v => v * v)) * maxAbs;
    }

    /// <summary>One fitting step of one factor from the Gram matrices A A^T and B B^T (or A^T A, B^T B for the right side).</summary>
    private static Factor Update(Factor f, double[,] aGram, double[,] bGram)
    {
        var n = Rows(f.Q);
        var q = (double[,])f.Q.Clone();
        if (f.Diagonal)
        {
            var norm = Enumerable.Range(0, n).Max(i => Math.Abs(aGram[i, i] + bGram[i, i]));
            for (var i = 0; i < n; i++) q[i, i] -= PreconditionerLr * (aGram[i, i] - bGram[i, i]) * f.Q[i, i] / norm;
            return f with { Q = q };
        }
        var difference = new double[n, n];
        var sum = new double[n, n];
        for (var i = 0; i < n; i++)
            for (var j = 0; j < n; j++)
            {
                difference[i, j] = j >= i ? aGram[i, j] - bGram[i, j] : 0.0;
                sum[i, j] = aGram[i, j] + bGram[i, j];
            }
        var step = Mul(difference, f.Q);
        var bound = NormLowerBound(sum);
        for (var i = 0; i < n; i++)
            for (var j = 0; j < n; j++) q[i, j] -= PreconditionerLr * step[i, j] / bound;
        return f with { Q = q };
    }

    /// <summary>The probe the optimizer draws for a parameter at step t: N(0, 1) in float64 from a torch
    /// generator seeded with SplitMix64(FNV-1a(name) xor t).</summary>
    private static double[,] Probe(string name, long t, int rows, int cols)
    {
        var hash = 1469598103934665603UL;
        foreach (var ch in name) hash = (hash ^ ch) * 1099511628211UL;
        var x = (hash ^ (ulong)t) + 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        using var generator = new Generator(x ^ (x >> 31));
        return FromRows(Values(randn([rows, cols], ScalarType.Float64, generator: generator)), rows, cols);
    }

    /// <summary>Runs two optimizer steps and the hand computation on one parameter viewed as rows x cols.</summary>
    private static void Check(string name, long[] shape, int rows, int cols, ParameterRole role, int maxTriangularDim)
    {
        var spec = new Core.Training.Kron
        {
            Lr = Lr, WeightDecay = Wd, Beta1 = Beta1, PreconditionerLr = PreconditionerLr, PreconditionerInitScale = InitScale,
            MaxTriangularDim = maxTriangularDim, FlatStart = 10,
        };
        var w0 = Pseudo(rows * cols, 3);
        var p = Parameter(name, w0, shape, role);
        using var optimizer = OptimizerFactory.Create(spec, [p], clipGradNorm: null);

        var vector = shape.Length < 2;
        var f0 = new Factor(Identity(rows, Math.Sqrt(InitScale)), vector || rows > maxTriangularDim);
        var f1 = new Factor(Identity(cols, Math.Sqrt(InitScale)), vector || cols > maxTriangularDim);
        var w = FromRows(w0, rows, cols);
        var m = new double[rows, cols];
        for (var t = 1; t <= 2; t++)
        {
            var g = Pseudo(rows * cols, 40 + t).Select(v => v * 3).ToArray();
            StepWith(optimizer, [g]);

            var mHat = new double[rows, cols];
            for (var i = 0; i < rows; i++)
                for (var j = 0; j < cols; j++)
                {
                    m[i, j] = Beta1 * m[i, j] + (1 - Beta1) * g[i * cols + j];
                    mHat[i, j] = m[i, j] / (1 - Math.Pow(Beta1, t));
                }
            // The fit (probability 1 inside the flat start): both factors from the same A and B.
            var a = Mul(Mul(f0.Q, mHat), T(f1.Q));
            var b = Mul(Mul(T(InverseUpper(f0.Q)), Probe(name, t, rows, cols)), InverseUpper(f1.Q));
            (f0, f1) = (Update(f0, Mul(a, T(a)), Mul(b, T(b))), Update(f1, Mul(T(a), a), Mul(T(b), b)));
            // The direction with the refitted factors, RMS capped at 1.1, then decoupled decay.
            var u = Mul(Mul(Mul(T(f0.Q), f0.Q), mHat), Mul(T(f1.Q), f1.Q));
            var rms = Math.Sqrt(Flat(u).Average(v => v * v));
            var scale = Math.Min(1.0, 1.1 / (rms + 1e-6));
            var decay = role.Decayed() ? Wd : 0.0;
            for (var i = 0; i < rows; i++)
                for (var j = 0; j < cols; j++) w[i, j] -= Lr * (u[i, j] * scale + decay * w[i, j]);

            AssertClose(Flat(w), Values(p.Parameter), 1e-10);
            var state = optimizer.Slots[0].State;
            AssertClose(f0.Diagonal ? Enumerable.Range(0, rows).Select(i => f0.Q[i, i]).ToArray() : Flat(f0.Q), Values(state["Q0"]), 1e-10);
            AssertClose(f1.Diagonal ? Enumerable.Range(0, cols).Select(i => f1.Q[i, i]).ToArray() : Flat(f1.Q), Values(state["Q1"]), 1e-10);
        }
        // Not vacuous: the fit moved the factors well away from their start.
        Assert.True(Math.Abs(f0.Q[0, 0] - Math.Sqrt(InitScale)) > 1e-2, $"Q0[0, 0] = {f0.Q[0, 0]} barely moved");
        Assert.True(Math.Abs(f1.Q[0, 0] - Math.Sqrt(InitScale)) > 1e-2, $"Q1[0, 0] = {f1.Q[0, 0]} barely moved");
    }

    [Fact]
    public void TwoStepsOnAMatrixWithTriangularFactorsMatchTheAlgorithmByHand() =>
        Check("blocks.0.w", [3, 4], 3, 4, ParameterRole.HiddenMatrix, maxTriangularDim: 8192);

    [Fact]
    public void TwoStepsOnAMatrixWithATriangularAndADiagonalFactorMatchTheAlgorithmByHand() =>
        Check("blocks.0.w", [2, 5], 2, 5, ParameterRole.HiddenMatrix, maxTriangularDim: 3);

    [Fact]
    public void TwoStepsOnAVectorWithDiagonalFactorsMatchTheAlgorithmByHand() =>
        Check("blocks.0.norm.weight", [5], 1, 5, ParameterRole.Norm, maxTriangularDim: 8192);
}
