using ModelDsl.Runtime.Optim;
using ModelDsl.Runtime.Parameters;
using static ModelDsl.Runtime.Tests.Optim.OptimTestSupport;

namespace ModelDsl.Runtime.Tests.Optim;

/// <summary>
/// SOAP (Vyas et al. 2024, Algorithm 3) on a dense 2 x 2 matrix over three steps, with the basis
/// refreshed after every Adam step, against the algorithm written out by hand in fp64: closed-form
/// eigenvectors of the 2 x 2 Gram matrices, Gram-Schmidt QR, Adam in the rotated basis. The update
/// does not depend on the signs of the basis vectors (they cancel between projecting in and back),
/// so the hand computation may pick its own signs.
/// </summary>
public sealed class SoapByHandTests
{
    private const double Beta1 = 0.8, Beta2 = 0.9, ShampooBeta = 0.7, Eps = 1e-8, Lr = 0.05;

    private static double[,] M(double a, double b, double c, double d) => new[,] { { a, b }, { c, d } };
    private static double[,] T(double[,] a) => M(a[0, 0], a[1, 0], a[0, 1], a[1, 1]);
    private static double[,] Mul(double[,] a, double[,] b) => M(
        a[0, 0] * b[0, 0] + a[0, 1] * b[1, 0], a[0, 0] * b[0, 1] + a[0, 1] * b[1, 1],
        a[1, 0] * b[0, 0] + a[1, 1] * b[1, 0], a[1, 0] * b[0, 1] + a[1, 1] * b[1, 1]);
    private static double[,] Map(double[,] a, Func<double, double> f) => M(f(a[0, 0]), f(a[0, 1]), f(a[1, 0]), f(a[1, 1]));
    private static double[,] Zip(double[,] a, double[,] b, Func<double, double, double> f) =>
        M(f(a[0, 0], b[0, 0]), f(a[0, 1], b[0, 1]), f(a[1, 0], b[1, 0]), f(a[1, 1], b[1, 1]));

    /// <summary>Eigenvectors of a symmetric 2 x 2 matrix as columns, the larger eigenvalue's first:
    /// the rotation by theta = atan2(2b, a - c) / 2 diagonalises [[a, b], [b, c]].</summary>
    private static double[,] Eigenvectors(double[,] s)
    {
        var theta = 0.5 * Math.Atan2(2 * s[0, 1], s[0, 0] - s[1, 1]);
        return M(Math.Cos(theta), -Math.Sin(theta), Math.Sin(theta), Math.Cos(theta));
    }

    /// <summary>Q of A = QR by Gram-Schmidt on the columns.</summary>
    private static double[,] Orthonormal(double[,] a)
    {
        var n1 = Math.Sqrt(a[0, 0] * a[0, 0] + a[1, 0] * a[1, 0]);
        var (q00, q10) = (a[0, 0] / n1, a[1, 0] / n1);
        var dot = q00 * a[0, 1] + q10 * a[1, 1];
        var (r0, r1) = (a[0, 1] - dot * q00, a[1, 1] - dot * q10);
        var n2 = Math.Sqrt(r0 * r0 + r1 * r1);
        return M(q00, r0 / n2, q10, r1 / n2);
    }

    private static double[,] SwapColumns(double[,] q) => M(q[0, 1], q[0, 0], q[1, 1], q[1, 0]);
    private static double[,] SwapRows(double[,] a) => M(a[1, 0], a[1, 1], a[0, 0], a[0, 1]);

    [Fact]
    public void ThreeStepsWithBasisRefreshesMatchTheAlgorithmByHand()
    {
        var w0 = new[] { 0.3, -0.2, 0.5, 0.1 };
        double[][] gradients = [[0.9, -0.4, 0.3, 0.7], [-0.5, 0.8, 0.6, 0.2], [0.4, 0.1, -0.7, 0.5]];
        var spec = new Core.Training.Soap
        {
            Lr = Lr, WeightDecay = 0, Beta1 = Beta1, Beta2 = Beta2, ShampooBeta = ShampooBeta, Eps = Eps, PreconditionFrequency = 1,
        };
        var p = Parameter("blocks.0.w", w0, [2, 2], ParameterRole.HiddenMatrix);
        using var optimizer = OptimizerFactory.Create(spec, [p], clipGradNorm: null);
        foreach (var g in gradients) StepWith(optimizer, [g]);

        // By hand.
        var w = M(w0[0], w0[1], w0[2], w0[3]);
        double[,] G(int i) => M(gradients[i][0], gradients[i][1], gradients[i][2], gradients[i][3]);
        // Step 1 only accumulates L = (1 - b) G G^T, R = (1 - b) G^T G and takes their eigenbases.
        var l = Map(Mul(G(0), T(G(0))), x => (1 - ShampooBeta) * x);
        var r = Map(Mul(T(G(0)), G(0)), x => (1 - ShampooBeta) * x);
        var (ql, qr) = (Eigenvectors(l), Eigenvectors(r));
        var m = M(0, 0, 0, 0);
        var v = M(0, 0, 0, 0);
        for (var step = 1; step <= 2; step++)
        {
            var g = G(step);
            var rotated = Mul(Mul(T(ql), g), qr);
            m = Zip(m, rotated, (a, b) => Beta1 * a + (1 - Beta1) * b);
            v = Zip(v, rotated, (a, b) => Beta2 * a + (1 - Beta2) * b * b);
            var scale = Math.Sqrt(1 - Math.Pow(Beta2, step)) / (1 - Math.Pow(Beta1, step));
            var direction = Map(Mul(Mul(ql, Zip(m, v, (a, b) => a / (Math.Sqrt(b) + Eps))), T(qr)), x => x * scale);
            w = Zip(w, direction, (a, b) => a - Lr * b);
            // Then the preconditioners take this gradient, and the basis is refreshed: columns sorted by
            // the estimated eigenvalues diag(Q^T L Q) (v permuted with them), one power iteration L Q, QR;
            // the first moment is carried over through the parameter space.
            l = Zip(l, Mul(g, T(g)), (a, b) => ShampooBeta * a + (1 - ShampooBeta) * b);
            r = Zip(r, Mul(T(g), g), (a, b) => ShampooBeta * a + (1 - ShampooBeta) * b);
            var mParameters = Mul(Mul(ql, m), T(qr));
            var estimatedL = Mul(Mul(T(ql), l), ql);
            if (estimatedL[1, 1] > estimatedL[0, 0]) { ql = SwapColumns(ql); v = SwapRows(v); }
            var estimatedR = Mul(Mul(T(qr), r), qr);
            if (estimatedR[1, 1] > estimatedR[0, 0]) { qr = SwapColumns(qr); v = T(SwapRows(T(v))); }
            (ql, qr) = (Orthonormal(Mul(l, ql)), Orthonormal(Mul(r, qr)));
            m = Mul(Mul(T(ql), mParameters), qr);
        }

        AssertClose([w[0, 0], w[0, 1], w[1, 0], w[1, 1]], Values(p.Parameter), 1e-10);
        // Not a near-miss of plain Adam: the rotation matters at this size.
        Assert.True(Math.Abs(Values(p.Parameter)[0] - w0[0]) > 1e-3);
    }
}
