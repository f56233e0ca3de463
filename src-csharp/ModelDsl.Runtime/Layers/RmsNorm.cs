using ModelDsl.Runtime.Compile;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using ModelDsl.Runtime.Variants;

namespace ModelDsl.Runtime.Layers;

/// <summary>
/// RMSNorm over the last dimension: x / sqrt(mean(x^2) + eps) * g (Zhang and Sennrich 2019, eq. 4).
/// No mean subtraction and no bias. Half-precision inputs are normalised in float32, because the
/// mean of squares loses too many bits in 8-bit mantissas.
/// </summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>, IDescribable
{
    private readonly Parameter weight;

    [Implements(typeof(Core.Model.RmsNorm))]
    public static nn.Module<Tensor, Tensor> Build(Core.Model.RmsNorm spec, long dimension, BuildContext context) =>
        new RmsNorm(dimension, spec.Eps, context.Dtype, context.Device);

    public RmsNorm(long dimension, double eps, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(RmsNorm))
    {
        if (dimension < 1) throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "RMSNorm needs a positive dimension");
        if (!(eps > 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "RMSNorm epsilon must be positive");
        Dimension = dimension;
        Eps = eps;
        weight = new Parameter(torch.ones(dimension, dtype: dtype, device: device), requires_grad: true);
        register_parameter("weight", weight);
        epsilon = eps.ToScalar();
    }

    // Held for the module's lifetime. A Scalar made implicitly from a double for one call (x + Eps) is
    // unreachable while libtorch reads it, and TorchSharp's Scalar has a finalizer that frees the native
    // value: a GC during the call can free it first (libtorch then reports "Unknown scalar type").
    private readonly Scalar epsilon;
    private static readonly Scalar One = 1.0.ToScalar();

    public long Dimension { get; }
    public double Eps { get; }
    /// <summary>The gain g, initialised to ones.</summary>
    public Parameter Weight => weight;

    public override Tensor forward(Tensor x)
    {
        var lowPrecision = x.dtype is ScalarType.BFloat16 or ScalarType.Float16;
        var wide = lowPrecision ? x.to(ScalarType.Float32) : x;
        var normalized = wide * torch.rsqrt(wide.Squared().mean([-1L], keepdim: true).add(epsilon, One));
        return (lowPrecision ? normalized.to(x.dtype) : normalized) * weight;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) epsilon.Dispose();
        base.Dispose(disposing);
    }

    public string Kind => $"RMSNorm (eps {Eps:G3})";
    public string Shape => $"{Dimension}";
}
