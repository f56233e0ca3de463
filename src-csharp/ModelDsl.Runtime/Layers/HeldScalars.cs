using TorchSharp;

namespace ModelDsl.Runtime.Layers;

/// <summary>
/// Scalars that live as long as the process. An operation given a temporary Scalar (an implicit
/// conversion from a number, or TorchSharp's own <c>square()</c>) passes only its native handle to
/// libtorch, so the garbage collector may finalize and free it while the call still reads it; a
/// training run then dies with "INTERNAL ASSERT FAILED at c10/core/Scalar.h" or "Unknown scalar
/// type". Hot paths use these instead. TorchSharp also makes such a temporary itself where an
/// argument is left out: <c>a + b</c>, <c>a.add(b)</c>, <c>a.add_(b)</c> and <c>a + s</c> are
/// <c>add(.., alpha: 1)</c> with a fresh int Scalar 1, so hot paths write <c>a.add(b, One)</c>.
/// Values that change per call are made with <c>using var s = x.ToScalar();</c>: the using keeps the
/// Scalar referenced (and so alive) until the end of its scope, after the native call.
/// </summary>
public static class HeldScalars
{
    /// <summary>The int 1 TorchSharp passes as the default alpha (same type, so the same result).</summary>
    public static readonly Scalar One = 1;
    public static readonly Scalar Two = 2;
    public static readonly Scalar Zero = 0;

    /// <summary>x², as <c>x.square()</c> computes it (pow with exponent 2), with a held exponent.</summary>
    public static torch.Tensor Squared(this torch.Tensor x) => x.pow(Two);
}
