using ModelDsl.Runtime.Parameters;
using static TorchSharp.torch;
using ModelDsl.Runtime.Variants;
using TorchSharp;
using static ModelDsl.Runtime.Layers.HeldScalars;

namespace ModelDsl.Runtime.Optim;

/// <summary>
/// SOAP (Vyas et al. 2024): Adam run in the eigenbasis of Shampoo's two preconditioners. Matrices
/// (higher-rank tensors are viewed as [size 0, rest]) keep L = EMA(G G^T) and R = EMA(G^T G) for
/// every side of size at most MaxPreconditionerDim; vectors get no basis (plain Adam), as in the
/// reference code's default. Step 1 only initialises the bases by eigendecomposition. Every
/// PreconditionFrequency steps the basis is refreshed by one power iteration and QR, with the
/// columns re-sorted by estimated eigenvalue; the second moment is permuted with them and the first
/// moment is re-projected (back to the parameter space with the old basis, into the new one).
/// Preconditioners are float32 (float64 for float64 parameters).
/// </summary>
[Implements(typeof(Core.Training.Soap))]
public sealed class SoapOptimizer(Core.Training.Soap spec, IReadOnlyList<NamedParameter> parameters, double? clipGradNorm)
    : OptimizerBase(spec.Lr, spec.WeightDecay, clipGradNorm,
        parameters.Select(p => new ParameterSlot(p, "soap", 1.0, p.Role.Decayed(), clipped: true)))
{
    /// <summary>Diagonal jitter for the eigendecomposition: 1e-30 vanishes in float32 and eigh can fail to converge.</summary>
    private static readonly Scalar EighJitter = 1e-20;
    private readonly Scalar decay1 = spec.Beta1, weight1 = 1 - spec.Beta1, decay2 = spec.Beta2, weight2 = 1 - spec.Beta2, eps = spec.Eps,
        shampooDecay = spec.ShampooBeta, shampooWeight = 1 - spec.ShampooBeta;

    protected override Tensor? Direction(ParameterSlot slot, Tensor gradient, long t)
    {
        var shape = gradient.shape;
        var precision = gradient.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var g = (gradient.dim() >= 2 ? gradient.reshape(shape[0], -1) : gradient).to(precision);
        var sides = g.dim() == 2 ? new[] { 0, 1 }.Where(side => g.shape[side] <= spec.MaxPreconditionerDim).ToArray() : [];
        if (t == 1)
        {
            foreach (var side in sides)
            {
                var l = AccumulateGram(slot, g, side);
                slot.SetState($"Q{side}", Eigenvectors(l));
            }
            return null;
        }
        var adamStep = t - 1;
        var projected = Project(slot, g, sides, back: false);
        var m = slot.StateOr("m", () => zeros_like(projected));
        var v = slot.StateOr("v", () => zeros_like(projected));
        m.mul_(decay1).add_(projected, weight1);
        v.mul_(decay2).addcmul_(projected, projected, weight2);
        using var stepScale = (Math.Sqrt(1 - Math.Pow(spec.Beta2, adamStep)) / (1 - Math.Pow(spec.Beta1, adamStep))).ToScalar();
        var direction = Project(slot, m / v.sqrt().add(eps, One), sides, back: true).mul(stepScale);

        foreach (var side in sides) AccumulateGram(slot, g, side);
        if (sides.Length > 0 && adamStep % spec.PreconditionFrequency == 0)
        {
            var mInParameterSpace = Project(slot, m, sides, back: true);
            foreach (var side in sides) RefreshBasis(slot, side);
            slot.SetState("m", Project(slot, mInParameterSpace, sides, back: false));
        }
        return direction.to(gradient.dtype).reshape(shape);
    }

    /// <summary>L_side = b L_side + (1-b) G G^T (side 0) or G^T G (side 1); the first call starts from zero. The Gram
    /// matrix is built symmetric from its upper blocks (<see cref="SymmetricProducts"/>).</summary>
    private Tensor AccumulateGram(ParameterSlot slot, Tensor g, int side)
    {
        var gram = SymmetricProducts.Gram(side == 0 ? g : g.t());
        var l = slot.StateOr($"L{side}", () => zeros_like(gram));
        l.mul_(shampooDecay).add_(gram, shampooWeight);
        return l;
    }

    /// <summary>Eigenvectors ordered by descending eigenvalue; retried in float64 when eigh fails in float32.</summary>
    private static Tensor Eigenvectors(Tensor l)
    {
        var jittered = l.add(eye(l.shape[0], dtype: l.dtype, device: l.device).mul(EighJitter), One);
        Tensor vectors;
        try
        {
            (_, vectors) = linalg.eigh(jittered);
        }
        catch (Exception) when (l.dtype != ScalarType.Float64)
        {
            (_, vectors) = linalg.eigh(jittered.to(ScalarType.Float64));
            vectors = vectors.to(l.dtype);
        }
        return vectors.flip(1);
    }

    /// <summary>One power iteration on the old basis, then QR; columns sorted by the estimated eigenvalues diag(Q^T L Q)
    /// and the second moment permuted to match along this side. L Q serves both: the estimates are the column sums
    /// of Q * (L Q), and L (Q P) = (L Q) P for the sorting permutation P (one product of size n^3 instead of three).</summary>
    private static void RefreshBasis(ParameterSlot slot, int side)
    {
        var l = slot.State[$"L{side}"];
        var q = slot.State[$"Q{side}"];
        var lq = l.matmul(q);
        var estimated = (q * lq).sum(0L);
        var order = estimated.argsort(descending: true);
        if (slot.State.TryGetValue("v", out var v)) slot.SetState("v", v.index_select(side, order));
        var (refreshed, _) = linalg.qr(lq.index_select(1, order));
        slot.SetState($"Q{side}", refreshed);
    }

    /// <summary>Into the basis: Q0^T X Q1; back: Q0 X Q1^T (sides without a basis are left alone).</summary>
    private static Tensor Project(ParameterSlot slot, Tensor x, int[] sides, bool back)
    {
        foreach (var side in sides)
        {
            var q = slot.State[$"Q{side}"];
            x = side == 0
                ? (back ? q.matmul(x) : q.t().matmul(x))
                : (back ? x.matmul(q.t()) : x.matmul(q));
        }
        return x;
    }
}
